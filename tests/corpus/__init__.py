"""Corpus of hostile inputs (issues 14 and 16): the real failure modes of a yearly refresh, each on a
copy of the project's small fictitious demo world (``conftest.py``; runs without ``../shared``).

Every case asserts, according to its outcome:

- **stop**: the system or a download cannot be used as it is (truncated archive, full disk, read-only or
  locked output, a kill): non-zero exit (or :class:`~observatoire.errors.ObservatoireError`), a French
  message naming the file or folder and what to do, the previous outputs byte-identical, no temporary
  file left;
- **refuse**: the input is wrong, impossible or unsafe (a perimeter without geometry, coordinates in the
  wrong system, a negative count, a ``../`` code): same guarantees, the message names the place
  (code, line, column) and the fix;
- **repair-and-note**: the repair is certain (a self-intersecting polygon, a code damaged by a
  spreadsheet, a duplicate identical row): exit 0, a « Note : » line naming the file and what was
  repaired, and the repaired result checked by value.

No case may show a Python traceback or « Erreur inattendue ». A subset runs the ``observatoire`` command
in a subprocess (column « via »: CLI; the output-side ones make a system call fail in that process);
the rest calls the library to keep the corpus fast. ``test_inventaire.py`` checks that this table and the
``corpus`` markers agree.

| case | category | outcome | via |
|---|---|---|---|
| `test_qpv2024_null_geometry_refused_by_the_cli` | geometrie | refuse | CLI |
| `test_qpv2024_empty_geometry_refused` | geometrie | refuse | bibliothèque |
| `test_qpv2024_lambert93_numbers_declared_wgs84` | geometrie | refuse | bibliothèque |
| `test_qpv2024_latitude_longitude_swapped_for_one_quartier` | geometrie | refuse | bibliothèque |
| `test_qpv2024_self_intersecting_perimeter_repaired_with_a_note_by_the_cli` | geometrie | repair-and-note | CLI |
| `test_qpv2024_identical_duplicate_kept_once` | geometrie | repair-and-note | bibliothèque |
| `test_qpv2024_conflicting_duplicate` | geometrie | refuse | bibliothèque |
| `test_qpv2024_truncated_download` | geometrie | stop | bibliothèque |
| `test_qpv2015_shapefile_without_prj` | geometrie | refuse | bibliothèque |
| `test_qpv2015_null_geometry_of_a_quartier_of_the_departement` | geometrie | refuse | bibliothèque |
| `test_qpv2015_self_intersection_repaired_with_a_note` | geometrie | repair-and-note | bibliothèque |
| `test_commune_without_geometry` | geometrie | refuse | bibliothèque |
| `test_communes_in_lambert93_without_crs_member` | geometrie | refuse | bibliothèque |
| `test_departement_in_degrees_declared_lambert93` | geometrie | refuse | bibliothèque |
| `test_iris_self_intersection_repaired_with_a_note` | geometrie | repair-and-note | bibliothèque |
| `test_iris_twice_with_different_outlines` | geometrie | refuse | bibliothèque |
| `test_iris_geojson_cut_by_an_interrupted_download` | geometrie | stop | bibliothèque |
| `test_census_zip_truncated_stops_the_cli_before_parsing` | tableaux | stop | CLI |
| `test_census_csv_cut_mid_line` | tableaux | stop | bibliothèque |
| `test_census_row_with_extra_columns_names_the_line` | tableaux | refuse | bibliothèque |
| `test_empty_file_in_place_of_a_table` | tableaux | stop | bibliothèque |
| `test_html_error_page_saved_as_the_table` | tableaux | stop | bibliothèque |
| `test_composition_zip_truncated` | tableaux | stop | bibliothèque |
| `test_iris_twice_with_conflicting_values_refused_by_the_cli` | tableaux | refuse | CLI |
| `test_iris_twice_identical_kept_once` | tableaux | repair-and-note | bibliothèque |
| `test_composition_commune_twice_in_two_epci` | tableaux | refuse | bibliothèque |
| `test_iris_codes_turned_into_numbers_by_a_spreadsheet` | tableaux | repair-and-note | bibliothèque |
| `test_iris_codes_rounded_in_scientific_notation` | tableaux | refuse | bibliothèque |
| `test_composition_lost_leading_zeros_and_corsica_in_lower_case` | tableaux | repair-and-note | bibliothèque |
| `test_unreadable_cell_names_line_column_and_territory` | tableaux | refuse | bibliothèque |
| `test_composition_code_damaged_beyond_repair` | tableaux | refuse | bibliothèque |
| `test_negative_population_refused_by_the_cli` | valeurs | refuse | CLI |
| `test_published_rate_above_100` | valeurs | refuse | bibliothèque |
| `test_poverty_rate_below_zero` | valeurs | refuse | bibliothèque |
| `test_more_employed_than_inhabitants_aged_15_64` | valeurs | refuse | bibliothèque |
| `test_negative_count_of_allocataires` | valeurs | refuse | bibliothèque |
| `test_more_single_parent_allocataires_than_allocataires` | valeurs | refuse | bibliothèque |
| `test_qpv2024_code_climbing_out_of_the_output_folders_refused_by_the_cli` | codes et chemins | refuse | CLI |
| `test_qpv2015_code_that_is_not_an_official_code` | codes et chemins | refuse | bibliothèque |
| `test_safe_child_refuses_names_leaving_their_folder` | codes et chemins | refuse | bibliothèque, 7 cas |
| `test_safe_child_refuses_a_symbolic_link_out_of_the_folder` | codes et chemins | refuse | bibliothèque |
| `test_every_atomic_write_refuses_a_path_climbing_out` | codes et chemins | refuse | bibliothèque |
| `test_zone_code_escaping_the_output_folders_refused_by_the_cli` | zones | refuse | CLI |
| `test_zone_code_declared_twice` | zones | refuse | bibliothèque |
| `test_zone_iris_codes_typed_as_numbers` | zones | repair-and-note | bibliothèque |
| `test_zone_file_with_empty_and_line_features` | zones | repair-and-note | bibliothèque |
| `test_zone_file_self_intersecting` | zones | repair-and-note | bibliothèque |
| `test_zone_file_lambert93_numbers_without_crs` | zones | refuse | bibliothèque |
| `test_zone_file_far_from_the_territory` | zones | refuse | bibliothèque |
| `test_zone_file_missing` | zones | refuse | bibliothèque |
| `test_population_raster_without_crs_refused_by_the_cli` | rasters | refuse | CLI |
| `test_population_raster_with_negative_cells` | rasters | refuse | bibliothèque |
| `test_population_raster_outside_the_territory` | rasters | refuse | bibliothèque |
| `test_population_raster_that_is_not_a_geotiff` | rasters | refuse | bibliothèque |
| `test_population_grid_with_negative_counts` | rasters | refuse | bibliothèque |
| `test_config_not_toml` | configuration | refuse | CLI |
| `test_config_unknown_epci_gets_close_matches` | configuration | refuse | CLI |
| `test_config_siren_with_eight_digits` | configuration | refuse | CLI |
| `test_config_territory_key_misspelt` | configuration | refuse | CLI |
| `test_config_unknown_section_names_the_closest` | configuration | refuse | CLI |
| `test_partner_table_missing` | partenaires | refuse | bibliothèque |
| `test_partner_code_column_misnamed` | partenaires | refuse | bibliothèque |
| `test_partner_code_climbing_out_of_the_output_folders` | partenaires | refuse | bibliothèque |
| `test_partner_quartier_twice_with_different_values` | partenaires | refuse | bibliothèque |
| `test_partner_value_that_is_not_a_number` | partenaires | refuse | bibliothèque |
| `test_partner_rate_above_100` | partenaires | refuse | bibliothèque |
| `test_full_disk_during_the_build` | sorties | stop | CLI |
| `test_read_only_output_folder` | sorties | stop | CLI |
| `test_full_disk_while_writing_portraits` | sorties | stop | CLI |
| `test_full_disk_while_writing_maps` | sorties | stop | CLI |
| `test_output_folder_is_a_file` | sorties | stop | CLI |
| `test_geopackage_failed_to_commit_transaction` | sorties | stop | bibliothèque |
| `test_one_transaction_for_the_four_exports` | sorties | stop | bibliothèque |
| `test_workbook_locked_by_another_program` | sorties | stop | bibliothèque |
| `test_group_commit_interrupted_by_a_locked_file_restores_the_others` | sorties | stop | bibliothèque |
| `test_output_folder_that_cannot_be_created` | sorties | stop | bibliothèque |
| `test_permission_refused_on_the_output_folder` | sorties | stop | bibliothèque |
| `test_workbook_writer_cannot_create_its_file` | sorties | stop | bibliothèque |
| `test_sigkill_then_rerun_equals_a_clean_run` | arrêt brutal | stop | CLI, 12 cas |

Counts (``python -c`` on :func:`tests.corpus.test_inventaire.counts`): 96 cases (84 hostile inputs and
12 kill runs); by outcome: 55 refuse, 31 stop (12 of them kill runs), 10 repair-and-note. By category
(refuse / stop / repair-and-note):

| category | refuse | stop | repair-and-note |
|---|---|---|---|
| geometrie | 11 | 2 | 4 |
| tableaux | 6 | 5 | 3 |
| valeurs | 6 | | |
| codes et chemins | 11 | | |
| zones | 5 | | 3 |
| rasters | 5 | | |
| configuration | 5 | | |
| partenaires | 6 | | |
| sorties | | 12 | |
| arrêt brutal | | 12 | |
"""

"""What postgresql+lakelink supports, for SQLAlchemy's compliance suite.

SuiteRequirements leaves most features closed; this opens what PostgreSQL
has (as SQLAlchemy's own requirements do for its PostgreSQL dialects) and
closes what lakelink lacks, each with the reason.
"""

from sqlalchemy.testing import exclusions
from sqlalchemy.testing.requirements import SuiteRequirements

_open = property(lambda self: exclusions.open())


def _closed(reason):
    return property(lambda self: exclusions.closed(reason))


class Requirements(SuiteRequirements):
    # ---- PostgreSQL has these (SuiteRequirements leaves them closed) ----
    create_table_as = _open
    create_temp_table_as = _open
    table_ddl_if_exists = _open
    index_ddl_if_exists = _open
    uuid_data_type = _open
    unique_constraints_reflect_as_index = _open
    deferrable_fks = _open
    boolean_col_expressions = _open
    nullsordering = _open
    intersect = _open
    except_ = _open
    window_functions = _open
    window_range = _open
    window_range_numeric = _open
    window_range_non_numeric = _open
    ctes = _open
    ctes_with_update_delete = _open
    ctes_with_values = _open
    ctes_on_dml = _open
    tuple_in = _open
    views = _open
    cross_schema_fk_reflection = _open
    default_schema_name_switch = _open
    reflects_pk_names = _open
    reflect_tables_no_columns = _open
    temp_table_comment_reflection = _open
    comment_reflection = _open
    comment_reflection_full_unicode = _open
    constraint_comment_reflection = _open
    column_collation_reflection = _open
    schema_create_delete = _open
    foreign_key_constraint_reflection = _open
    foreign_key_constraint_option_reflection_ondelete = _open
    fk_constraint_option_reflection_ondelete_restrict = _open
    fk_constraint_option_reflection_ondelete_noaction = _open
    foreign_key_constraint_option_reflection_onupdate = _open
    fk_constraint_option_reflection_onupdate_restrict = _open
    temp_table_reflect_indexes = _open
    temp_table_names = _open
    has_temp_table = _open
    temporary_views = _open
    create_or_replace_view = _open
    index_reflection = _open
    index_reflects_included_columns = _open
    indexes_check_column_order = _open
    indexes_with_expressions = _open
    reflect_indexes_with_expressions = _open
    inline_check_constraint_reflection = _open
    check_constraint_reflection = _open
    unicode_ddl = _open
    datetime_interval = _open
    datetime_timezone = _open
    timestamp_microseconds = _open
    datetime_historic = _open
    date_historic = _open
    autocommit = _open
    array_type = _open
    json_type = _open
    precision_numerics_enotation_small = _open
    precision_numerics_many_significant_digits = _open
    precision_numerics_retains_significant_digits = _open
    server_defaults = _open
    expression_server_defaults = _open
    aggregate_order_by = _open
    infinity_floats = _open
    float_or_double_precision_behaves_generically = _open
    savepoints = _open
    update_from = _open
    delete_from = _open
    mod_operator_as_percent_sign = _open
    # Before PostgreSQL 18 a computed column without persisted= is made STORED with an SAWarning,
    # which the suite's tables (ComputedColumnTest) turn into an error.
    computed_columns = property(lambda self: exclusions.skip_if(
        lambda config: config.db.dialect.server_version_info < (18,),
        "PostgreSQL before 18: computed columns without persisted= warn"))
    computed_columns_stored = _open
    computed_columns_default_persisted = _open
    computed_columns_reflect_persisted = _open
    supports_distinct_on = _open
    identity_columns = _open
    identity_columns_standard = _open
    regexp_match = _open
    regexp_replace = _open
    fetch_first = _open
    fetch_ties = _open
    fetch_no_order_by = _open
    fetch_offset_with_options = _open
    fetch_expression = _open
    reflect_table_options = _open
    materialized_views = _open
    supports_bitwise_or = _open
    supports_bitwise_and = _open
    supports_bitwise_not = _open
    supports_bitwise_xor = _open
    supports_bitwise_shift = _open

    # ---- closed, with the reason ----
    # The suite's ServerSideCursorsTest recognizes a server-side cursor only for the drivers it
    # names (_is_server_side); lakelink's cursors always stream rows from the socket, and
    # stream_results / yield_per use them (tests/test_sqlalchemy.py checks it).
    server_side_cursors = _closed("the suite's _is_server_side knows only built-in drivers")
    # lakelink's parameters have no timetz (TYPES.md: a datetime.time with tzinfo is refused).
    time_timezone = _closed("timetz parameters are not supported by lakelink")
    # lakelink's DB-API has no tpc_* methods.
    two_phase_transactions = _closed("lakelink has no two-phase commit API")
    # PostgreSQL 18 has virtual generated columns; the emulator's server is older.
    computed_columns_virtual = _closed("PostgreSQL before 18")
    # PostgreSQL has no FETCH ... PERCENT; materialized views have no primary key.
    fetch_percent = _closed("PostgreSQL has no FETCH FIRST n PERCENT")
    materialized_views_reflect_pk = _closed("PostgreSQL materialized views have no primary key")

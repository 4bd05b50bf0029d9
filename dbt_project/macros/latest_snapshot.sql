{#-
    The state of a snapshot raw table as of as_of_date(): the rows of the newest night landed
    on or before as_of_date in that table. Rows absent from that night (deleted at source, or
    dropped from the export) are absent from the result; nights after as_of_date are ignored.

    The vendor's exports can repeat a row: one row per key is kept (the latest load, then the
    highest row hash, so the choice is deterministic). Conflicting repeats are reported by the
    source test unique_combination_of_columns(key, _logical_date).

    Returns every column of the raw table (source columns and lineage columns).
-#}
{% macro latest_snapshot(relation, key_columns) -%}
    {%- set keys = [key_columns] if key_columns is string else key_columns -%}
    select distinct on ({% for key in keys %}snapshot_rows.{{ key }}{% if not loop.last %}, {% endif %}{% endfor %})
        snapshot_rows.*
    from {{ relation }} as snapshot_rows
    where snapshot_rows._logical_date = (
        select max(nights._logical_date)
        from {{ relation }} as nights
        where nights._logical_date <= {{ as_of_date() }}
    )
    order by
        {% for key in keys %}snapshot_rows.{{ key }}, {% endfor %}
        snapshot_rows._loaded_at desc,
        snapshot_rows._row_hash desc
{%- endmacro %}

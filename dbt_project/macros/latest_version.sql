{#-
    The state of an incremental raw table as of as_of_date(): one row per key, the latest
    version among the rows landed on nights up to and including as_of_date.

    Each night lands only rows changed since the previous extract (and may re-read some rows),
    so a key can have many versions across nights. The latest version is the one with the
    highest source updated_at; a row re-read with the same updated_at is taken from the latest
    night; within one night the latest load wins (a rerun replaces its night's rows, so a rerun
    of an old night never overrides a newer night); the row hash makes the choice deterministic.
    Nights after as_of_date are ignored, so an old night can be rebuilt exactly.

    Returns every column of the raw table (source columns and lineage columns).
-#}
{% macro latest_version(relation, key_columns, updated_at='updated_at') -%}
    {%- set keys = [key_columns] if key_columns is string else key_columns -%}
    select distinct on ({% for key in keys %}versions.{{ key }}{% if not loop.last %}, {% endif %}{% endfor %})
        versions.*
    from {{ relation }} as versions
    where versions._logical_date <= {{ as_of_date() }}
    order by
        {% for key in keys %}versions.{{ key }}, {% endfor %}
        versions.{{ updated_at }} desc nulls last,
        versions._logical_date desc,
        versions._loaded_at desc,
        versions._row_hash desc
{%- endmacro %}

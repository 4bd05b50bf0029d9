{#-
    Models land in exactly the schema named in their config (staging, intermediate, marts,
    restricted), not dbt's default "<target schema>_<custom schema>": BI roles are granted on
    those names. Nodes without a configured schema use the target's schema.

    The nightly pipeline builds the published schemas (marts, restricted) into shadow copies
    (var `publish_suffix`, e.g. "__next" gives marts__next) and send_warehouse.publish swaps them
    in, in one transaction, only when the whole night succeeded. Without the var (ad hoc builds,
    tests) they are built in place.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif (custom_schema_name | trim) in ('marts', 'restricted') -%}
        {{ custom_schema_name | trim }}{{ var('publish_suffix', '') }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

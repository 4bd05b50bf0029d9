{#-
    Models land in exactly the schema named in their config (staging, intermediate, marts,
    restricted), not dbt's default "<target schema>_<custom schema>": BI roles are granted on
    those names. Nodes without a configured schema use the target's schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

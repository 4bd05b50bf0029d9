{#-
    Test `where` configs may name the night being built as the placeholder __as_of_date__,
    replaced at run time by as_of_date() (test configs are rendered at parse time, where
    project macros are not available). Used by the source tests, which check only the night
    being built rather than every night ever landed, e.g.
        config:
          where: "_logical_date = __as_of_date__"
-#}
{% macro postgres__get_where_subquery(relation) -%}
    {% set where = config.get('where', '') %}
    {% if where %}
        {%- set where = where | replace('__as_of_date__', as_of_date()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}

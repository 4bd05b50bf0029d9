{#-
    ref() to a staging model, or an empty relation with the given columns when that model has
    never been built (the pipeline skips the staging of a source that failed to land, and on a
    warehouse's very first night that leaves no table at all). Identity resolution then builds
    from whichever sources exist. The dependency on the model is always recorded.

    columns: a mapping of column name -> SQL type, listing the columns the caller reads.
-#}
{% macro ref_or_empty(model_name, columns) -%}
    {%- set relation = ref(model_name) -%}
    {%- set ns = namespace(exists=true) -%}
    {#- (unit tests render without the graph: their fixtures stand in for the model anyway) -#}
    {%- if execute and graph.get('nodes') -%}
        {%- for node in graph.get('nodes').values() if node.resource_type == 'model' and node.name == model_name -%}
            {%- set found = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
            {%- set ns.exists = found is not none -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if ns.exists -%}
        {{ relation }}
    {%- else -%}
        (select {% for name, type in columns.items() %}null::{{ type }} as {{ name }}{% if not loop.last %}, {% endif %}{% endfor %} where false)
    {%- endif -%}
{%- endmacro %}

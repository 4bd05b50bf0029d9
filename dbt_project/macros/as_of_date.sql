{#-
    The night's logical date as a SQL date literal. Every "today" in the project goes through
    this macro so that rerunning an old night reproduces that night's answers. Set it with
    --vars '{"as_of_date": "YYYY-MM-DD"}'; only when unset does it fall back to today's date
    in the council's time zone.
-#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        (now() at time zone 'Europe/London')::date
    {%- else -%}
        {%- set text = value | string | trim -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
            {{ exceptions.raise_compiler_error("var as_of_date must be a date 'YYYY-MM-DD', got '" ~ text ~ "'") }}
        {%- endif -%}
        date '{{ text }}'
    {%- endif -%}
{%- endmacro %}

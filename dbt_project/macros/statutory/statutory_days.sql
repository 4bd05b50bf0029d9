{#-
    Statutory day arithmetic (SEND Regulations 2014; see shared/domain.md). Calendar days only:
    6 weeks = 42, 16 = 112, 20 = 140, 4 = 28, 12 = 84, 52 = 364. "Within N weeks" means
    end - start <= N * 7. Every helper takes SQL expressions and returns a SQL expression, so the
    same rule is used by every mart and by its unit tests.
-#}

{#- N weeks as a number of calendar days, e.g. weeks_in_days(20) -> 140. -#}
{% macro weeks_in_days(weeks) -%}
    ({{ weeks }} * 7)
{%- endmacro %}


{#- Calendar days from start to end (end - start); null when either is null. -#}
{% macro days_between(start_date, end_date) -%}
    (({{ end_date }})::date - ({{ start_date }})::date)
{%- endmacro %}


{#-
    True when end falls within N weeks of start (end - start <= N * 7), false when later, null
    when either date is missing. A statutory clock starting on day 0 is met on day N * 7.
-#}
{% macro within_weeks(start_date, end_date, weeks) -%}
    ({{ days_between(start_date, end_date) }} <= {{ weeks_in_days(weeks) }})
{%- endmacro %}


{#- The first day of the calendar month of a date. -#}
{% macro month_start(date_expression) -%}
    date_trunc('month', ({{ date_expression }})::date)::date
{%- endmacro %}


{#- The last day of the calendar month of a date. -#}
{% macro month_end(date_expression) -%}
    (date_trunc('month', ({{ date_expression }})::date) + interval '1 month - 1 day')::date
{%- endmacro %}


{#- A stable surrogate key: md5 of a prefix naming the entity and its natural key columns. -#}
{% macro surrogate_key(prefix, columns) -%}
    {%- set parts = [columns] if columns is string else columns -%}
    md5('{{ prefix }}' {%- for column in parts %} || ':' || coalesce(({{ column }})::text, '~'){% endfor %})
{%- endmacro %}

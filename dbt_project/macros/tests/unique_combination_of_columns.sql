{#-
    Generic test: the combination of the given columns is unique in the model or source.
    (Written here because dbt packages are not installed at run time.)
    Usage:
        data_tests:
          - unique_combination_of_columns:
              arguments:
                combination_of_columns: [person_id, _logical_date]
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns_csv = combination_of_columns | join(', ') -%}
    select
        {{ columns_csv }},
        count(*) as rows_with_this_combination
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1
{% endtest %}

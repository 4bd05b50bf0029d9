{#-
    Unique Learner Number check (shared/domain.md): 10 digits; weights 10, 9, ..., 2 on digits
    1-9, r = sum mod 11; r = 0 is invalid; the check digit is 10 - r. Takes the value as staging
    cleaned it (`clean_code`). Never raises on bad input.
-#}

{% macro uln_is_valid(uln) -%}
    coalesce(case
        when ({{ uln }}) ~ '^[0-9]{10}$'
            then {{ _weighted_digit_sum(uln) }} % 11 <> 0
             and 10 - {{ _weighted_digit_sum(uln) }} % 11 = ascii(substr({{ uln }}, 10, 1)) - 48
    end, false)
{%- endmacro %}


{#- 'missing', 'format' (not ten digits), 'check_digit' or 'valid'. -#}
{% macro uln_status(uln) -%}
    case
        when ({{ uln }}) is null then 'missing'
        when ({{ uln }}) !~ '^[0-9]{10}$' then 'format'
        when not {{ uln_is_valid(uln) }} then 'check_digit'
        else 'valid'
    end
{%- endmacro %}

{#-
    NHS number check (shared/domain.md): 10 digits; weights 10, 9, ..., 2 on digits 1-9, sum
    mod 11, check digit = 11 - remainder (11 becomes 0; 10 means no valid number exists).
    Takes the number as staging cleaned it (`clean_nhs_number`: spaces and hyphens removed).
    Never raises on bad input (digits are read with ascii(), not cast).
-#}

{#- The weighted sum of the first nine digits; only meaningful for ten-digit values. -#}
{% macro _weighted_digit_sum(value, first_weight=10) -%}
    (
        {%- for position in range(1, 10) %}
        {{ first_weight + 1 - position }} * (ascii(substr({{ value }}, {{ position }}, 1)) - 48){% if not loop.last %} +{% endif %}
        {%- endfor %}
    )
{%- endmacro %}


{% macro nhs_number_is_valid(nhs_number) -%}
    coalesce(case
        when ({{ nhs_number }}) ~ '^[0-9]{10}$'
            then (11 - {{ _weighted_digit_sum(nhs_number) }} % 11) % 11 = ascii(substr({{ nhs_number }}, 10, 1)) - 48
    end, false)
{%- endmacro %}


{#- 'missing', 'format' (not ten digits), 'check_digit' (fails modulus 11) or 'valid'. -#}
{% macro nhs_number_status(nhs_number) -%}
    case
        when ({{ nhs_number }}) is null then 'missing'
        when ({{ nhs_number }}) !~ '^[0-9]{10}$' then 'format'
        when not {{ nhs_number_is_valid(nhs_number) }} then 'check_digit'
        else 'valid'
    end
{%- endmacro %}

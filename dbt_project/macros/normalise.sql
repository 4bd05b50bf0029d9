{#-
    Normalisation helpers shared by the staging models. Each takes a SQL expression and returns
    a SQL expression; none of them encodes business rules (codes stay codes; marts decode them).
    Whitespace includes the no-break and other Unicode spaces that Windows exports and web
    forms carry, not only ASCII spaces, tabs and line breaks.
-#}

{% macro whitespace_class() -%}
    [\s\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000\ufeff]
{%- endmacro %}


{#- Trimmed text; an empty or all-space value becomes null. Inner text is left as it is. -#}
{% macro clean_text(expression) -%}
    nullif(regexp_replace(({{ expression }})::text, '^{{ whitespace_class() }}+|{{ whitespace_class() }}+$', '', 'g'), '')
{%- endmacro %}


{#- A code or identifier: trimmed, upper-case, empty to null (UPN, ULN, decision codes, ...). -#}
{% macro clean_code(expression) -%}
    upper({{ clean_text(expression) }})
{%- endmacro %}


{#- Trimmed, every run of whitespace collapsed to one space, empty to null. Case is kept. -#}
{% macro squish(expression) -%}
    nullif(btrim(regexp_replace(({{ expression }})::text, '{{ whitespace_class() }}+', ' ', 'g'), ' '), '')
{%- endmacro %}


{#- A person's name as the source gave it, with whitespace tidied (see squish). -#}
{% macro normalise_name(expression) -%}
    {{ squish(expression) }}
{%- endmacro %}


{#-
    A UK postcode: upper-case, with exactly one space before the inward code (digit + two
    letters), e.g. ' sw1a1aa ' -> 'SW1A 1AA'. A value that is not shaped like a postcode is
    kept (upper-case, whitespace tidied) so that data-quality rules can still see it; an empty
    value becomes null.
-#}
{% macro normalise_postcode(expression) -%}
    {%- set compact = "upper(regexp_replace((" ~ expression ~ ")::text, '" ~ whitespace_class() ~ "+', '', 'g'))" -%}
    case
        when {{ compact }} ~ '^[A-Z0-9]{2,4}[0-9][A-Z]{2}$'
            then regexp_replace({{ compact }}, '^(.+)(.{3})$', '\1 \2')
        else upper({{ squish(expression) }})
    end
{%- endmacro %}


{#-
    Sex as M / F / U from any of the vendors' spellings (M/F/U, male/female/unknown, any case).
    Null and empty stay null; an unrecognised value is kept upper-case so that the
    accepted_values test reports it.
-#}
{% macro normalise_sex(expression) -%}
    case {{ clean_code(expression) }}
        when 'M' then 'M'
        when 'MALE' then 'M'
        when 'F' then 'F'
        when 'FEMALE' then 'F'
        when 'U' then 'U'
        when 'UNKNOWN' then 'U'
        when 'NOT KNOWN' then 'U'
        else {{ clean_code(expression) }}
    end
{%- endmacro %}


{#- An NHS number with the spaces and hyphens of its printed form removed ('943 476 5870'). -#}
{% macro clean_nhs_number(expression) -%}
    nullif(regexp_replace(({{ expression }})::text, '({{ whitespace_class() }}|-)+', '', 'g'), '')
{%- endmacro %}


{#-
    A date from ISO-8601 text ('YYYY-MM-DD', optionally followed by a time), or null when the
    text is not a real date (e.g. '2026-02-30'): one bad value in a JSON payload must not fail
    the whole model. The raw payload keeps what was received.
-#}
{% macro safe_iso_date(expression) -%}
    case
        when ({{ expression }})::text ~ '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}(\s*$|[T ])'
            then case
                when pg_input_is_valid(substr(btrim(({{ expression }})::text), 1, 10), 'date')
                    then substr(btrim(({{ expression }})::text), 1, 10)::date
            end
    end
{%- endmacro %}

{#-
    Unique Pupil Number checks (shared/domain.md), written once for identity resolution, the
    data-quality rules (UPN_FORMAT, UPN_CHECK_LETTER) and the SEN2 export.

    Every macro takes a SQL expression holding the UPN as staging cleaned it (trimmed,
    upper-case: `clean_code`) and returns a SQL expression. None of them can raise on bad
    input: characters are turned into numbers with ascii(), never with a cast, so a malformed
    value inside a CASE cannot fail a model even when the planner folds constants.

    A UPN is 13 characters: a check letter, then 12 digits (permanent) or 11 digits and a final
    letter from the check alphabet (temporary). Check letter: the character at position i
    (i = 2..13) times i, summed, mod 23, mapped onto ABCDEFGHJKLMNPQRTUVWXYZ; a temporary UPN's
    final letter counts as its index (0-based) in that alphabet.
-#}

{% macro upn_check_alphabet() -%}
    'ABCDEFGHJKLMNPQRTUVWXYZ'
{%- endmacro %}


{#- True when the value has the shape of a permanent or temporary UPN (not checking the letter). -#}
{% macro upn_is_well_formed(upn) -%}
    coalesce(({{ upn }}) ~ '^[A-Z]([0-9]{12}|[0-9]{11}[A-HJ-NP-RT-Z])$', false)
{%- endmacro %}


{#- True for a well-formed temporary UPN (final character a letter of the check alphabet). -#}
{% macro upn_is_temporary(upn) -%}
    coalesce(({{ upn }}) ~ '^[A-Z][0-9]{11}[A-HJ-NP-RT-Z]$', false)
{%- endmacro %}


{#- The check letter the 12 characters after the first call for; null unless well formed. -#}
{% macro upn_expected_check_letter(upn) -%}
    case when {{ upn_is_well_formed(upn) }} then substr({{ upn_check_alphabet() }}, 1 + ((
        {%- for position in range(2, 13) %}
        {{ position }} * (ascii(substr({{ upn }}, {{ position }}, 1)) - 48) +
        {%- endfor %}
        13 * case
            when substr({{ upn }}, 13, 1) between '0' and '9' then ascii(substr({{ upn }}, 13, 1)) - 48
            else strpos({{ upn_check_alphabet() }}, substr({{ upn }}, 13, 1)) - 1
        end
    ) % 23), 1) end
{%- endmacro %}


{#- True when the UPN is well formed and carries the right check letter (permanent or temporary). -#}
{% macro upn_is_valid(upn) -%}
    coalesce({{ upn_is_well_formed(upn) }} and substr({{ upn }}, 1, 1) = {{ upn_expected_check_letter(upn) }}, false)
{%- endmacro %}


{#-
    A UPN's state as one code: 'missing' (null), 'format' (not 13 characters of the right
    shape), 'check_letter' (well formed, wrong check letter), 'temporary' (a valid temporary
    UPN) or 'valid' (a valid permanent UPN). The rules UPN_FORMAT and UPN_CHECK_LETTER fire on
    'format' and 'check_letter'.
-#}
{% macro upn_status(upn) -%}
    case
        when ({{ upn }}) is null then 'missing'
        when not {{ upn_is_well_formed(upn) }} then 'format'
        when not {{ upn_is_valid(upn) }} then 'check_letter'
        when {{ upn_is_temporary(upn) }} then 'temporary'
        else 'valid'
    end
{%- endmacro %}

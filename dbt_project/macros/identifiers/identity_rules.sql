{#-
    How two person records compare, field by field: the comparison levels that identity
    resolution scores (int_identity__scored_pairs) and the hard NO-MERGE rule that scoring,
    the competing-candidate check and constrained clustering all apply. `l` and `r` are the
    aliases of two rows of int_identity__person_records. Each level macro returns null when
    either side lacks the field (no evidence either way).
-#}

{#- Two space-separated word lists share a word (false when either is null). -#}
{% macro identity_words_overlap(a, b) -%}
    coalesce(string_to_array({{ a }}, ' ') && string_to_array({{ b }}, ' '), false)
{%- endmacro %}


{#-
    Two words one keying slip apart: one letter dropped, added or changed (the longer word has 4+
    letters, both start alike), or two adjacent letters swapped (same length, 4+ letters).
-#}
{% macro identity_one_slip(a, b) -%}
    (greatest(length({{ a }}), length({{ b }})) >= 4
     and least(length({{ a }}), length({{ b }})) >= 3
     and left({{ a }}, 1) = left({{ b }}, 1)
     and (levenshtein({{ a }}, {{ b }}) = 1
          or (length({{ a }}) = length({{ b }}) and levenshtein({{ a }}, {{ b }}) = 2
              and {{ identity_sorted_letters(a) }} = {{ identity_sorted_letters(b) }})))
{%- endmacro %}


{#-
    exact     same letters (case, spaces, hyphens, apostrophes, diacritics ignored)
    variant   a nickname or transliteration of one another (seed identity_name_variants),
              e.g. Mohammed / Muhammad, Katherine / Kate
    typo      one keying slip apart (see identity_one_slip)
    partial   one is the other's first name or a 3+ letter prefix of it (Tommy-Lee / Tommy)
    initial   one is only an initial, and it agrees
    different none of the above (an initial that disagrees is different)
-#}
{% macro identity_forename_level(l, r) -%}
    case
        when {{ l }}.forename_compact is null or {{ r }}.forename_compact is null then null
        when {{ l }}.forename_compact = {{ r }}.forename_compact then 'exact'
        when {{ identity_words_overlap(l ~ '.forename_groups', r ~ '.forename_groups') }} then 'variant'
        when {{ identity_one_slip(l ~ '.forename_compact', r ~ '.forename_compact') }} then 'typo'
        when length({{ l }}.forename_compact) = 1 or length({{ r }}.forename_compact) = 1 then
            case when left({{ l }}.forename_compact, 1) = left({{ r }}.forename_compact, 1) then 'initial' else 'different' end
        when {{ l }}.forename_first = {{ r }}.forename_first
            or (least(length({{ l }}.forename_compact), length({{ r }}.forename_compact)) >= 3
                and (starts_with({{ l }}.forename_compact, {{ r }}.forename_compact)
                     or starts_with({{ r }}.forename_compact, {{ l }}.forename_compact))) then 'partial'
        else 'different'
    end
{%- endmacro %}


{#-
    exact     same letters (case, spaces, hyphens, apostrophes, diacritics ignored)
    variant   Mc/Mac, a listed transliteration (Hussain / Hussein), or the same double
              metaphone code within two edits (4+ letters)
    typo      one keying slip apart (see identity_one_slip)
    subset    a double-barrelled surname and one of its parts (Smith-Jones / Smith)
    different none of the above (a changed surname)
-#}
{% macro identity_surname_level(l, r) -%}
    case
        when {{ l }}.surname_compact is null or {{ r }}.surname_compact is null then null
        when {{ l }}.surname_compact = {{ r }}.surname_compact then 'exact'
        when {{ l }}.surname_match = {{ r }}.surname_match
            or {{ identity_words_overlap(l ~ '.surname_groups', r ~ '.surname_groups') }} then 'variant'
        when {{ identity_one_slip(l ~ '.surname_compact', r ~ '.surname_compact') }} then 'typo'
        when {{ identity_words_overlap(l ~ '.surname_tokens', r ~ '.surname_tokens') }} then 'subset'
        when least(length({{ l }}.surname_compact), length({{ r }}.surname_compact)) >= 4
            and {{ l }}.surname_metaphone = {{ r }}.surname_metaphone
            and levenshtein({{ l }}.surname_compact, {{ r }}.surname_compact) <= 2 then 'variant'
        else 'different'
    end
{%- endmacro %}


{#- exact / swapped (day and month) / typo (one digit of ddmmyyyy) / different. -#}
{% macro identity_dob_level(l, r) -%}
    case
        when {{ l }}.date_of_birth is null or {{ r }}.date_of_birth is null then null
        when {{ l }}.date_of_birth = {{ r }}.date_of_birth then 'exact'
        when {{ l }}.date_of_birth = {{ r }}.dob_swapped then 'swapped'
        when levenshtein({{ l }}.dob_digits, {{ r }}.dob_digits) = 1 then 'typo'
        else 'different'
    end
{%- endmacro %}


{#- exact / sector (e.g. NR1 3) / district (NR1) / different; null unless both are shaped like postcodes. -#}
{% macro identity_postcode_level(l, r) -%}
    case
        when {{ l }}.postcode_compact is null or {{ r }}.postcode_compact is null then null
        when {{ l }}.postcode_compact = {{ r }}.postcode_compact then 'exact'
        when {{ l }}.postcode_sector = {{ r }}.postcode_sector then 'sector'
        when {{ l }}.postcode_district = {{ r }}.postcode_district then 'district'
        else 'different'
    end
{%- endmacro %}


{#- same / different, only when both records say M or F. -#}
{% macro identity_sex_level(l, r) -%}
    case
        when {{ l }}.sex_known is null or {{ r }}.sex_known is null then null
        when {{ l }}.sex_known = {{ r }}.sex_known then 'same'
        else 'different'
    end
{%- endmacro %}


{#-
    same_valid   both carry the same valid permanent UPN (deterministic evidence)
    conflict     both carry valid permanent UPNs and they differ (NO-MERGE)
    check_letter the same 12 characters after the check letter, at least one letter wrong
    same_value   the same value, not valid (e.g. the same temporary or malformed UPN)
    near         within two edits with at least one malformed (a digit dropped or doubled)
    null         no evidence (missing, or a temporary/invalid UPN against another value)
-#}
{% macro identity_upn_level(l, r) -%}
    case
        when {{ l }}.upn_link_value is null or {{ r }}.upn_link_value is null then null
        when {{ l }}.upn_link_valid and {{ r }}.upn_link_valid then
            case when {{ l }}.upn_link_value = {{ r }}.upn_link_value then 'same_valid' else 'conflict' end
        when {{ l }}.upn_body = {{ r }}.upn_body then 'check_letter'
        when {{ l }}.upn_link_value = {{ r }}.upn_link_value then 'same_value'
        when least(length({{ l }}.upn_link_value), length({{ r }}.upn_link_value)) >= 11
            and not ({{ l }}.upn_body is not null and {{ r }}.upn_body is not null)
            and levenshtein({{ l }}.upn_link_value, {{ r }}.upn_link_value) <= 2 then 'near'
    end
{%- endmacro %}


{#- same_valid / conflict (both valid, different: NO-MERGE) / same_value / near (one digit keyed wrong) / null. -#}
{% macro identity_nhs_level(l, r) -%}
    case
        when {{ l }}.nhs_number is null or {{ r }}.nhs_number is null then null
        when {{ l }}.nhs_valid and {{ r }}.nhs_valid then
            case when {{ l }}.nhs_number = {{ r }}.nhs_number then 'same_valid' else 'conflict' end
        when {{ l }}.nhs_number = {{ r }}.nhs_number then 'same_value'
        when length({{ l }}.nhs_number) = 10 and length({{ r }}.nhs_number) = 10
            and levenshtein({{ l }}.nhs_number, {{ r }}.nhs_number) = 1 then 'near'
    end
{%- endmacro %}


{#- same_valid / conflict (both valid, different) / null. -#}
{% macro identity_uln_level(l, r) -%}
    case
        when not coalesce({{ l }}.uln_valid and {{ r }}.uln_valid, false) then null
        when {{ l }}.uln = {{ r }}.uln then 'same_valid'
        else 'conflict'
    end
{%- endmacro %}


{#-
    The hard NO-MERGE rule: two records that must never end in one person, whatever else
    agrees. Returns the reason, or null.
      different_valid_upn         both carry valid permanent UPNs and they differ
      different_valid_nhs_number  both carry valid NHS numbers and they differ
      twins                       same surname, date of birth and postcode, and different
                                  forenames (or, unless the forenames are the same, different sex)
    Temporary UPNs are not permanent identifiers (a child holds one until the permanent UPN is
    known), so a temporary UPN never conflicts with a permanent one.
-#}
{% macro identity_hard_conflict(l, r, forename_level=none, surname_level=none, sex_level=none) -%}
    {#- The level arguments let a caller that has already computed them pass the columns instead. -#}
    {%- set forename_level = forename_level or identity_forename_level(l, r) -%}
    {%- set surname_level = surname_level or identity_surname_level(l, r) -%}
    {%- set sex_level = sex_level or identity_sex_level(l, r) -%}
    case
        when {{ l }}.upn_link_valid and {{ r }}.upn_link_valid and {{ l }}.upn_link_value <> {{ r }}.upn_link_value
            then 'different_valid_upn'
        when {{ l }}.nhs_valid and {{ r }}.nhs_valid and {{ l }}.nhs_number <> {{ r }}.nhs_number
            then 'different_valid_nhs_number'
        when {{ l }}.date_of_birth = {{ r }}.date_of_birth
            and {{ l }}.postcode_compact = {{ r }}.postcode_compact
            and ({{ surname_level }}) in ('exact', 'variant', 'typo', 'subset')
            and (({{ forename_level }}) = 'different'
                 or (({{ sex_level }}) = 'different' and ({{ forename_level }}) <> 'exact'))
            then 'twins'
    end
{%- endmacro %}

{#-
    SEN2 / DfE setting categories for where a child with an EHC plan is educated. Takes the
    establishment's type and phase (from stg_education__establishments, via the placement's URN)
    and the placement's SEN2 setting code (no school). Categories:
      mainstream          mainstream schools (incl. their sixth forms)
      special             special schools, state and independent
      ap_pru              alternative provision / pupil referral units
      fe_post16           FE colleges, sixth-form colleges, specialist post-16 institutions
      early_years         early years providers (with or without a URN: EYP)
      educated_elsewhere  EHE elective home education, OLA / OPA other arrangements by the LA / parents
      neet                NEET (16-25)
      not_in_education    NIEO, NIEC
      other               OTH, or a URN the establishments list does not know
-#}
{% macro setting_category(establishment_type, establishment_phase, setting_code, urn) -%}
    case
        when ({{ urn }}) is not null then
            case
                when ({{ establishment_type }}) = 'FE' then 'fe_post16'
                when ({{ establishment_type }}) in ('MAINSTREAM', 'INDEPENDENT_SPECIAL') and ({{ establishment_phase }}) = 'POST16'
                    then 'fe_post16'
                when ({{ establishment_type }}) = 'MAINSTREAM' then 'mainstream'
                when ({{ establishment_type }}) in ('SPECIAL', 'INDEPENDENT_SPECIAL') then 'special'
                when ({{ establishment_type }}) = 'AP' then 'ap_pru'
                when ({{ establishment_type }}) = 'EARLY_YEARS' then 'early_years'
                else 'other'
            end
        when ({{ setting_code }}) in ('EHE', 'OLA', 'OPA') then 'educated_elsewhere'
        when ({{ setting_code }}) = 'EYP' then 'early_years'
        when ({{ setting_code }}) = 'NEET' then 'neet'
        when ({{ setting_code }}) in ('NIEO', 'NIEC') then 'not_in_education'
        else 'other'
    end
{%- endmacro %}


{#- SEN2 setting codes that mean the child receives no education (fct_education_gaps). -#}
{% macro no_education_setting_codes() -%}
    ('NIEO', 'NIEC', 'NEET')
{%- endmacro %}


{#- Hours a week below which a school-age placement is a part-time timetable. -#}
{% macro full_time_hours() -%}
    25
{%- endmacro %}


{#- SEN2 cease reasons 1-9 in words. -#}
{% macro cease_reason_label(code) -%}
    case ({{ code }})
        when 1 then 'max_age'
        when 2 then 'needs_met_without_plan'
        when 3 then 'higher_education'
        when 4 then 'paid_employment'
        when 5 then 'moved_to_another_la'
        when 6 then 'no_longer_wishes_to_engage'
        when 7 then 'left_england'
        when 8 then 'died'
        when 9 then 'other'
    end
{%- endmacro %}


{#-
    Statutory deadline for the amended plan at a phase transfer into the school year starting
    1 September of transfer_year (reg 18): 15 February of that year, or 31 March for a move from
    secondary school to post-16.
-#}
{% macro phase_transfer_deadline(transfer_year, is_post16) -%}
    case when ({{ is_post16 }}) then make_date(({{ transfer_year }})::integer, 3, 31)
         else make_date(({{ transfer_year }})::integer, 2, 15) end
{%- endmacro %}

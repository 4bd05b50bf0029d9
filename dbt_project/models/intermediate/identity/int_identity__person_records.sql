{#-
    The person-record spine: one row per source person record of the three systems, with the
    normalised names, validated identifiers and derived keys that blocking, scoring and
    clustering compare. Nothing here decides a link.
-#}
{%- set name_particles = ['van', 'von', 'der', 'den', 'del', 'della', 'bin', 'ibn', 'ter', 'ten', 'mac'] -%}

with

casework as (
    select
        'casework'::text as source_system,
        persons.casework_person_id::text as source_record_id,
        persons.upn,
        persons.uln,
        null::text as nhs_number,
        persons.forename,
        persons.surname,
        persons.date_of_birth,
        persons.sex,
        persons.postcode,
        persons.ethnicity,
        null::text as sen_provision,
        persons.source_updated_at::date as last_updated_on
    from {{ ref_or_empty('stg_casework__persons', {
        'casework_person_id': 'bigint', 'upn': 'text', 'uln': 'text', 'forename': 'text', 'surname': 'text',
        'date_of_birth': 'date', 'sex': 'text', 'postcode': 'text', 'ethnicity': 'text',
        'source_updated_at': 'timestamp'}) }} as persons
),

education as (
    select
        'education'::text as source_system,
        pupils.pupil_ref as source_record_id,
        pupils.upn,
        pupils.uln,
        null::text as nhs_number,
        pupils.forename,
        pupils.surname,
        pupils.date_of_birth,
        pupils.sex,
        pupils.postcode,
        null::text as ethnicity,
        pupils.sen_provision,
        -- The export carries no change time: the night this version of the row first arrived.
        coalesce(versions.first_seen_on, pupils.source_logical_date) as last_updated_on
    from {{ ref_or_empty('stg_education__pupils', {
        'pupil_ref': 'text', 'upn': 'text', 'uln': 'text', 'forename': 'text', 'surname': 'text',
        'date_of_birth': 'date', 'sex': 'text', 'postcode': 'text', 'sen_provision': 'text',
        'source_logical_date': 'date', '_row_hash': 'text'}) }} as pupils
    left join (
        select pupil_ref, row_hash, min(first_seen_on) as first_seen_on
        from {{ ref('int_identity__pupil_versions') }}
        where first_seen_on <= {{ as_of_date() }}
        group by pupil_ref, row_hash
    ) as versions on versions.pupil_ref = pupils.pupil_ref and versions.row_hash = pupils._row_hash
),

socialcare as (
    select
        'socialcare'::text as source_system,
        children.socialcare_child_id as source_record_id,
        children.upn,
        null::text as uln,
        children.nhs_number,
        children.forename,
        children.surname,
        children.date_of_birth,
        children.sex,
        children.postcode,
        null::text as ethnicity,
        null::text as sen_provision,
        (children.source_updated_at at time zone 'Europe/London')::date as last_updated_on
    from {{ ref_or_empty('stg_socialcare__children', {
        'socialcare_child_id': 'text', 'nhs_number': 'text', 'upn': 'text', 'forename': 'text',
        'surname': 'text', 'date_of_birth': 'date', 'sex': 'text', 'postcode': 'text',
        'source_updated_at': 'timestamptz'}) }} as children
),

unioned as (
    select * from casework
    union all
    select * from education
    union all
    select * from socialcare
),

keyed as (
    select
        source_system || ':' || source_record_id as record_uid,
        unioned.*,
        {{ identity_name_key('forename') }} as forename_key,
        {{ identity_name_key('surname') }} as surname_key,
        -- UPN as compared for linkage: a space keyed inside it is ignored (UPN_FORMAT still reports it).
        nullif(regexp_replace(upn, '\s+', '', 'g'), '') as upn_link_value,
        case
            when postcode ~ '^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$' then postcode
        end as postcode_shaped
    from unioned
),

normalised as (
    select
        keyed.*,
        replace(forename_key, ' ', '') as forename_compact,
        split_part(forename_key, ' ', 1) as forename_first,
        replace(surname_key, ' ', '') as surname_compact,
        regexp_replace(replace(surname_key, ' ', ''), '^mc', 'mac') as surname_match,
        (
            select string_agg(distinct token, ' ' order by token)
            from regexp_split_to_table(surname_key, ' ') as token
            where length(token) >= 3
              and token not in ({% for p in name_particles %}'{{ p }}'{% if not loop.last %}, {% endif %}{% endfor %})
        ) as surname_tokens
    from keyed
),

name_variants as (
    select
        name_type,
        variant_group,
        {{ identity_compact_name('name') }} as name_compact
    from {{ ref('identity_name_variants') }}
),

forename_groups as (
    select record_uid, string_agg(distinct variant_group, ' ' order by variant_group) as groups
    from (
        select normalised.record_uid, name_variants.variant_group
        from normalised
        inner join name_variants
            on name_variants.name_type = 'forename' and name_variants.name_compact = normalised.forename_compact
        union all
        select normalised.record_uid, name_variants.variant_group
        from normalised
        inner join name_variants
            on name_variants.name_type = 'forename' and name_variants.name_compact = normalised.forename_first
    ) as matched
    group by record_uid
),

surname_groups as (
    select record_uid, string_agg(distinct variant_group, ' ' order by variant_group) as groups
    from (
        select normalised.record_uid, name_variants.variant_group
        from normalised
        inner join name_variants
            on name_variants.name_type = 'surname' and name_variants.name_compact = normalised.surname_compact
        union all
        select normalised.record_uid, name_variants.variant_group
        from normalised
        cross join lateral regexp_split_to_table(normalised.surname_tokens, ' ') as token
        inner join name_variants
            on name_variants.name_type = 'surname' and name_variants.name_compact = token
    ) as matched
    group by record_uid
),

final as (
    select
        normalised.record_uid,
        normalised.source_system,
        normalised.source_record_id,

        -- as staged
        normalised.forename,
        normalised.surname,
        normalised.date_of_birth,
        normalised.sex,
        normalised.postcode,
        normalised.upn,
        normalised.uln,
        normalised.nhs_number,
        normalised.ethnicity,
        normalised.sen_provision,
        normalised.last_updated_on,

        -- identifiers, validated
        {{ upn_status('normalised.upn') }} as upn_status,
        normalised.upn_link_value,
        {{ upn_is_valid('normalised.upn_link_value') }}
            and not {{ upn_is_temporary('normalised.upn_link_value') }} as upn_link_valid,
        case
            when {{ upn_is_well_formed('normalised.upn_link_value') }} then substr(normalised.upn_link_value, 2)
        end as upn_body,
        {{ nhs_number_status('normalised.nhs_number') }} as nhs_status,
        {{ nhs_number_is_valid('normalised.nhs_number') }} as nhs_valid,
        {{ uln_status('normalised.uln') }} as uln_status,
        {{ uln_is_valid('normalised.uln') }} as uln_valid,

        -- names
        normalised.forename_key,
        normalised.forename_compact,
        nullif(normalised.forename_first, '') as forename_first,
        forename_groups.groups as forename_groups,
        nullif(soundex(nullif(normalised.forename_first, '')), '') as forename_soundex,
        normalised.surname_key,
        normalised.surname_compact,
        normalised.surname_match,
        normalised.surname_tokens,
        surname_groups.groups as surname_groups,
        nullif(soundex(normalised.surname_compact), '') as surname_soundex,
        nullif(dmetaphone(normalised.surname_compact), '') as surname_metaphone,

        -- date of birth
        to_char(normalised.date_of_birth, 'DDMMYYYY') as dob_digits,
        case
            when extract(day from normalised.date_of_birth) <= 12
                and extract(day from normalised.date_of_birth) <> extract(month from normalised.date_of_birth)
                then make_date(
                    extract(year from normalised.date_of_birth)::int,
                    extract(day from normalised.date_of_birth)::int,
                    extract(month from normalised.date_of_birth)::int)
        end as dob_swapped,
        -- equal for a date and its day/month swap: the blocking key that finds swapped dates
        extract(year from normalised.date_of_birth)::int || '-'
            || least(extract(day from normalised.date_of_birth), extract(month from normalised.date_of_birth))::int || '-'
            || greatest(extract(day from normalised.date_of_birth), extract(month from normalised.date_of_birth))::int
            as dob_unordered,

        -- sex and postcode
        case when normalised.sex in ('M', 'F') then normalised.sex end as sex_known,
        replace(normalised.postcode_shaped, ' ', '') as postcode_compact,
        left(normalised.postcode_shaped, strpos(normalised.postcode_shaped, ' ') + 1) as postcode_sector,
        split_part(normalised.postcode_shaped, ' ', 1) as postcode_district
    from normalised
    left join forename_groups on forename_groups.record_uid = normalised.record_uid
    left join surname_groups on surname_groups.record_uid = normalised.record_uid
)

select * from final

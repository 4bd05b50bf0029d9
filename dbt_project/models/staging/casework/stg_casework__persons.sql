with

persons_as_of_night as (
    {{ latest_version(source('casework', 'cw_person'), 'person_id') }}
),

renamed as (
    select
        person_id as casework_person_id,
        {{ clean_code('upn') }} as upn,
        {{ clean_code('uln') }} as uln,
        {{ normalise_name('forename') }} as forename,
        {{ normalise_name('surname') }} as surname,
        dob as date_of_birth,
        {{ normalise_sex('sex') }} as sex,
        {{ normalise_postcode('postcode') }} as postcode,
        {{ clean_code('ethnicity') }} as ethnicity,
        updated_at as source_updated_at,
        _logical_date as source_logical_date,
        _row_hash
    from persons_as_of_night
)

select * from renamed

with

pupils_as_of_night as (
    {{ latest_snapshot(source('education', 'pupils'), 'pupil_ref') }}
),

renamed as (
    select
        {{ clean_code('pupil_ref') }} as pupil_ref,
        {{ clean_code('upn') }} as upn,
        {{ clean_code('uln') }} as uln,
        {{ normalise_name('legal_forename') }} as forename,
        {{ normalise_name('legal_surname') }} as surname,
        dob as date_of_birth,
        {{ normalise_sex('gender') }} as sex,
        {{ normalise_postcode('postcode') }} as postcode,
        {{ clean_code('sen_provision') }} as sen_provision,
        _logical_date as source_logical_date,
        _row_hash
    from pupils_as_of_night
)

select * from renamed

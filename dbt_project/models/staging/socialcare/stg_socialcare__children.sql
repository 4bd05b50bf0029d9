with

children_as_of_night as (
    {{ latest_version(source('socialcare', 'children'), 'id') }}
),

renamed as (
    select
        {{ clean_text('id') }} as socialcare_child_id,
        {{ clean_nhs_number("payload ->> 'nhs_number'") }} as nhs_number,
        {{ clean_code("payload ->> 'upn'") }} as upn,
        {{ normalise_name("payload ->> 'first_name'") }} as forename,
        {{ normalise_name("payload ->> 'last_name'") }} as surname,
        {{ safe_iso_date("payload ->> 'date_of_birth'") }} as date_of_birth,
        {{ normalise_sex("payload ->> 'gender'") }} as sex,
        {{ normalise_postcode("payload ->> 'postcode'") }} as postcode,
        updated_at as source_updated_at,
        _logical_date as source_logical_date,
        _row_hash
    from children_as_of_night
)

select * from renamed

with

requests_as_of_night as (
    {{ latest_version(source('casework', 'cw_request'), 'request_id') }}
),

renamed as (
    select
        request_id as casework_request_id,
        person_id as casework_person_id,
        received_date,
        request_source,
        decision_date,
        {{ clean_code('decision') }} as decision,
        {{ clean_code('assessment_outcome') }} as assessment_outcome,
        outcome_date,
        draft_issued_date,
        {{ clean_code('exception_reason') }} as exception_reason,
        {{ clean_code('transferred_in_from') }} as transferred_in_from_la_code,
        {{ squish('team') }} as team,
        updated_at as source_updated_at,
        _logical_date as source_logical_date,
        _row_hash
    from requests_as_of_night
)

select * from renamed

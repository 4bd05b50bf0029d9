with

reviews_as_of_night as (
    {{ latest_version(source('casework', 'cw_review'), 'review_id') }}
),

renamed as (
    select
        review_id as casework_review_id,
        plan_id as casework_plan_id,
        due_date,
        meeting_date,
        decision_date,
        {{ clean_code('outcome') }} as outcome,
        amended_plan_date,
        updated_at as source_updated_at,
        _logical_date as source_logical_date,
        _row_hash
    from reviews_as_of_night
)

select * from renamed

with

documents_as_of_night as (
    {{ latest_snapshot(source('casework', 'cw_document'), 'document_id') }}
),

renamed as (
    select
        document_id as casework_document_id,
        person_id as casework_person_id,
        request_id as casework_request_id,
        {{ clean_code('doc_type') }} as doc_type,
        {{ clean_text('file_name') }} as file_name,
        filed_at,
        deleted_at,
        _logical_date as source_logical_date,
        _row_hash
    from documents_as_of_night
)

select * from renamed

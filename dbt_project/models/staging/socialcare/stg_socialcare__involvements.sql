with

children_as_of_night as (
    {{ latest_version(source('socialcare', 'children'), 'id') }}
),

involvements as (
    select
        children_as_of_night.id,
        involvement.item,
        involvement.ordinal,
        children_as_of_night.updated_at,
        children_as_of_night._logical_date,
        children_as_of_night._row_hash
    from children_as_of_night
    cross join lateral jsonb_array_elements(
        case
            when jsonb_typeof(children_as_of_night.payload -> 'involvements') = 'array'
                then children_as_of_night.payload -> 'involvements'
            else '[]'::jsonb
        end
    ) with ordinality as involvement (item, ordinal)
),

renamed as (
    select
        {{ clean_text('id') }} as socialcare_child_id,
        ordinal::integer as involvement_number,
        {{ clean_code("item ->> 'type'") }} as involvement_type,
        {{ safe_iso_date("item ->> 'start_date'") }} as start_date,
        {{ safe_iso_date("item ->> 'end_date'") }} as end_date,
        {{ squish("item ->> 'team'") }} as team,
        updated_at as source_updated_at,
        _logical_date as source_logical_date,
        _row_hash
    from involvements
)

select * from renamed

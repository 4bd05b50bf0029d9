{#-
    The log of person_key changes for records already known: merges, splits and moves, every
    night up to as_of_date, and new records that joined a known child. A records team reads it
    to see why a child's key changed; marts carrying person_key can re-key their history from it.
-#}

select
    assigned_on as changed_on,
    record_uid,
    source_system,
    source_record_id,
    previous_person_key,
    person_key,
    change_type,
    run_id
from {{ ref('int_person_key_registry') }}
where assigned_on <= {{ as_of_date() }}
  and change_type in ('merged', 'split', 'moved', 'joined_known_child')

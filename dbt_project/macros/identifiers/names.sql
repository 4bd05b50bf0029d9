{#-
    Name keys for identity resolution. A name key ignores what differs between the systems'
    spellings of one name without meaning anything: case, diacritics (via the unaccent
    extension), apostrophes (O'Brien = OBrien = O’Brien), hyphens and other punctuation (taken
    as word breaks) and runs of spaces. Letters of other scripts are kept as they are.

    identity_name_key('  Zoë  O''Brien-Smith ') -> 'zoe obrien smith'
    identity_compact_name(...)                    -> 'zoeobriensmith' (word breaks removed too)
-#}

{% macro identity_name_key(expression) -%}
    nullif(btrim(regexp_replace(
        regexp_replace(lower(unaccent(({{ expression }})::text)), '[''`´‘’ʼ]', '', 'g'),
        '[[:space:][:punct:][:digit:]‐‑‒–—―…«»“”„\u00a0]+', ' ', 'g'
    )), '')
{%- endmacro %}


{% macro identity_compact_name(expression) -%}
    nullif(replace({{ identity_name_key(expression) }}, ' ', ''), '')
{%- endmacro %}


{#- The letters of a word in alphabetical order: equal for two spellings that transpose letters. -#}
{% macro identity_sorted_letters(expression) -%}
    array_to_string(array(select letter from regexp_split_to_table({{ expression }}, '') as letter order by letter), '')
{%- endmacro %}

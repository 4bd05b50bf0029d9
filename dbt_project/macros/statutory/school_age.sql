{#-
    School-age rules for England (shared/domain.md). Each macro takes SQL expressions (a date of
    birth, a date) and returns a SQL date or integer expression; a null date of birth gives null.
-#}

{#- Whole years of age on a date (a 29 February birthday counts on 28 February in common years). -#}
{% macro age_in_years(date_of_birth, on_date) -%}
    (date_part('year', age(({{ on_date }})::date, ({{ date_of_birth }})::date))::integer)
{%- endmacro %}


{#- 1 September that starts the school year containing the date. -#}
{% macro school_year_start(on_date) -%}
    make_date(
        (extract(year from ({{ on_date }})::date)::integer
            - case when extract(month from ({{ on_date }})::date) >= 9 then 0 else 1 end),
        9, 1)
{%- endmacro %}


{#-
    The calendar year whose 1 September starts the child's reception year: the school year in
    which the child is 4 on the 31 August before it (born September-December: the 5th year after
    birth; born January-August: the 4th).
-#}
{% macro reception_start_year(date_of_birth) -%}
    (extract(year from ({{ date_of_birth }})::date)::integer
        + case when extract(month from ({{ date_of_birth }})::date) >= 9 then 5 else 4 end)
{%- endmacro %}


{#-
    National curriculum year group on a date: age on the 31 August before the school year, minus 4
    (age 4 -> 0 = reception, age 10 -> year 6, age 15 -> year 11, age 16 -> year 12).
-#}
{% macro national_curriculum_year(date_of_birth, on_date) -%}
    ({{ age_in_years(date_of_birth, school_year_start(on_date) ~ " - 1") }} - 4)
{%- endmacro %}


{#- 1 September on which the child enters national curriculum year `year_group` (0 = reception). -#}
{% macro nc_year_start_date(date_of_birth, year_group) -%}
    make_date({{ reception_start_year(date_of_birth) }} + ({{ year_group }}), 9, 1)
{%- endmacro %}


{#-
    First day of compulsory school age: the prescribed day (31 March, 31 August or 31 December) on
    or after the child's 5th birthday (Education Act 1996 s.8; the "term after the 5th birthday").
-#}
{% macro compulsory_school_age_start(date_of_birth) -%}
    {%- set fifth = "((" ~ date_of_birth ~ ")::date + interval '5 years')::date" -%}
    case
        when ({{ date_of_birth }}) is null then null::date
        when {{ fifth }} <= make_date(extract(year from {{ fifth }})::integer, 3, 31)
            then make_date(extract(year from {{ fifth }})::integer, 3, 31)
        when {{ fifth }} <= make_date(extract(year from {{ fifth }})::integer, 8, 31)
            then make_date(extract(year from {{ fifth }})::integer, 8, 31)
        else make_date(extract(year from {{ fifth }})::integer, 12, 31)
    end
{%- endmacro %}


{#- The last Friday in June of a calendar year (an integer expression). -#}
{% macro last_friday_of_june(year_expression) -%}
    (make_date(({{ year_expression }})::integer, 6, 30)
        - ((extract(dow from make_date(({{ year_expression }})::integer, 6, 30))::integer + 2) % 7))
{%- endmacro %}


{#-
    Last day of compulsory school age: the last Friday in June of the school year in which the
    child turns 16 (that school year ends in the calendar year of the 16th birthday when the
    birthday falls January-August, in the next calendar year when it falls September-December).
-#}
{% macro compulsory_school_age_end(date_of_birth) -%}
    {%- set sixteenth = "((" ~ date_of_birth ~ ")::date + interval '16 years')::date" -%}
    case
        when ({{ date_of_birth }}) is null then null::date
        else {{ last_friday_of_june(
            "extract(year from " ~ sixteenth ~ ")::integer + case when extract(month from " ~ sixteenth
            ~ ") >= 9 then 1 else 0 end") }}
    end
{%- endmacro %}


{#- True when the date falls within compulsory school age; null when the date of birth is unknown. -#}
{% macro is_compulsory_school_age(date_of_birth, on_date) -%}
    (({{ on_date }})::date between {{ compulsory_school_age_start(date_of_birth) }}
        and {{ compulsory_school_age_end(date_of_birth) }})
{%- endmacro %}

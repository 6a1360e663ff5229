--
-- Case-insensitive matching: equals-ignore-case and the ignore-case forms
-- of prefix, suffix and anything-but.  An event character matches an
-- operand character when it is that character or the character's simple
-- lower or upper case mapping in Unicode (eventbus's own table, Unicode
-- 15.0), whatever the database's locale and collation.  EventBridge
-- (event-ruler) compares the same way, but with Java's case mappings taken
-- per UTF-16 unit; where that gives a plainly wrong answer eventbus
-- differs, and the README lists each difference.
--
-- Every query lists the case, the decided answer ("expected") and the
-- answer of event =~ pattern ("matches"); the two columns must agree.
--
SET search_path = public, eventbus;
\set VERBOSITY default

CREATE FUNCTION pg_temp.ic(op text, operand text, event text)
RETURNS boolean LANGUAGE sql AS $$
    SELECT jsonb_build_object('s', event) =~
           CASE op
               WHEN 'equals' THEN jsonb_build_object('s', jsonb_build_array(jsonb_build_object('equals-ignore-case', operand)))
               WHEN 'prefix' THEN jsonb_build_object('s', jsonb_build_array(jsonb_build_object('prefix', jsonb_build_object('equals-ignore-case', operand))))
               WHEN 'suffix' THEN jsonb_build_object('s', jsonb_build_array(jsonb_build_object('suffix', jsonb_build_object('equals-ignore-case', operand))))
               WHEN 'anything-but' THEN jsonb_build_object('s', jsonb_build_array(jsonb_build_object('anything-but', jsonb_build_object('equals-ignore-case', operand))))
           END
$$;

SELECT label, expected, pg_temp.ic(op, operand, event) AS matches
FROM (VALUES
    ('ÄPFEL vs äpfel',             'equals', 'ÄPFEL', 'äpfel', true),
    ('äpfel vs ÄPFEL',             'equals', 'äpfel', 'ÄPFEL', true),
    ('äpfel vs apfel',             'equals', 'äpfel', 'apfel', false),
    ('Cyrillic МОСКВА vs москва',  'equals', 'МОСКВА', 'москва', true),
    ('Armenian ԱԲԳ vs աբգ',        'equals', 'ԱԲԳ', 'աբգ', true),
    ('final sigma: Σ vs ς',        'equals', 'ΣΑΣ', 'σας', false),
    ('final sigma: ς vs Σ',        'equals', 'σας', 'ΣΑΣ', true),
    ('dotless ı vs I',             'equals', 'ı', 'I', true),
    ('I vs dotless ı',             'equals', 'I', 'ı', false),
    ('Kelvin sign vs k',           'equals', 'K', 'k', true),
    ('Kelvin sign vs K',           'equals', 'K', 'K', false),
    ('k vs Kelvin sign',           'equals', 'k', 'K', false),
    ('title case ǅ vs ǆ',          'equals', 'ǅ', 'ǆ', true),
    ('title case ǅ vs Ǆ',          'equals', 'ǅ', 'Ǆ', true),
    ('ǆ vs title case ǅ',          'equals', 'ǆ', 'ǅ', false),
    ('ẞ vs ß',                     'equals', 'ẞ', 'ß', true),
    ('ß vs ẞ (no simple upper)',   'equals', 'ß', 'ẞ', false),
    ('Ⱥ (2 bytes) vs ⱥ (3 bytes)', 'equals', 'Ⱥ', 'ⱥ', true),
    ('prefix Ⱥb vs ⱥBc',           'prefix', 'Ⱥb', 'ⱥBc', true),
    ('prefix Ⱥb vs ⱥ',             'prefix', 'Ⱥb', 'ⱥ', false),
    ('suffix ȺB vs xⱥb',           'suffix', 'ȺB', 'xⱥb', true),
    ('suffix ȺB vs b',             'suffix', 'ȺB', 'b', false),
    ('suffix ÇA vs voilà ça',      'suffix', 'ÇA', 'voilà ça', true),
    ('empty prefix vs anything',   'prefix', '', 'x', true),
    ('anything-but ÄPFEL, äpfel',  'anything-but', 'ÄPFEL', 'äpfel', false),
    ('anything-but ÄPFEL, birne',  'anything-but', 'ÄPFEL', 'birne', true),
    -- deliberate differences from event-ruler (see the README):
    ('title case ǅ vs itself',     'equals', 'ǅ', 'ǅ', true),
    ('İ vs i (simple mapping)',    'equals', 'İ', 'i', true),
    ('ß vs SS (no simple mapping)','equals', 'ß', 'SS', false),
    ('Deseret 𐐀 vs 𐐨',            'equals', '𐐀', '𐐨', true),
    ('emoji vs itself',            'equals', '😀', '😀', true),
    ('emoji vs ??',                'equals', '😀', '??', false),
    ('prefix emoji vs itself',     'prefix', '😀x', '😀X!', true),
    ('suffix emoji vs itself',     'suffix', 'X😀', 'ax😀', true)
) AS c(label, op, operand, event, expected);

-- In a database with the C locale, whose lower() knows only ASCII, the
-- answers are the same.
SELECT current_database() AS regress_db \gset
CREATE DATABASE eventbus_case_c LOCALE 'C' ENCODING 'UTF8' TEMPLATE template0;
\c eventbus_case_c
SELECT datcollate, datctype FROM pg_database WHERE datname = current_database();
SELECT lower('ÄPFEL') AS "lower() here";
CREATE FUNCTION public.event_matches(jsonb, jsonb) RETURNS boolean
    AS '$libdir/eventbus', 'eventbus_event_matches' LANGUAGE C IMMUTABLE STRICT;
SELECT label, expected, public.event_matches(event::jsonb, pattern::jsonb) AS matches
FROM (VALUES
    ('ÄPFEL vs äpfel',             '{"s": "äpfel"}', '{"s": [{"equals-ignore-case": "ÄPFEL"}]}', true),
    ('äpfel vs ÄPFEL',             '{"s": "ÄPFEL"}', '{"s": [{"equals-ignore-case": "äpfel"}]}', true),
    ('prefix ÄP vs äpfel',         '{"s": "äpfel"}', '{"s": [{"prefix": {"equals-ignore-case": "ÄP"}}]}', true),
    ('suffix FEL vs äpfel',        '{"s": "äpfel"}', '{"s": [{"suffix": {"equals-ignore-case": "FEL"}}]}', true),
    ('anything-but ÄPFEL, äpfel',  '{"s": "äpfel"}', '{"s": [{"anything-but": {"equals-ignore-case": "ÄPFEL"}}]}', false),
    ('Greek ΑΘΗΝΑ vs αθηνα',       '{"s": "αθηνα"}', '{"s": [{"equals-ignore-case": "ΑΘΗΝΑ"}]}', true)
) AS c(label, event, pattern, expected);
\c :regress_db
DROP DATABASE eventbus_case_c;

-- The definition of every object of extension eventbus, one line (or block)
-- per fact, in a stable order: two databases whose outputs are equal have the
-- same extension objects with the same definitions, comments, owners and
-- privileges.  Used by test/scripts/upgrade.sh to compare an upgraded
-- installation with a fresh one.  Data (rows, sequence values, partitions
-- made for a given day, outbox tables of queues) is not part of it.
\pset format unaligned
\pset tuples_only on
WITH ext AS (
    SELECT oid, extname FROM pg_catalog.pg_extension WHERE extname = 'eventbus'
), member AS (
    SELECT d.classid, d.objid
      FROM pg_catalog.pg_depend d, ext
     WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.refobjid = ext.oid AND d.deptype = 'e'
), rel AS (
    SELECT c.* FROM pg_catalog.pg_class c
      JOIN member m ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND m.objid = c.oid
), facts(line) AS (
    -- the extension itself
    SELECT format('extension %s: schema %s, relocatable %s, config %s, conditions %s',
                  e.extname, e.extnamespace::pg_catalog.regnamespace, e.extrelocatable,
                  (SELECT pg_catalog.array_agg(x::pg_catalog.regclass::text ORDER BY x::pg_catalog.regclass::text)
                     FROM pg_catalog.unnest(e.extconfig) x),
                  (SELECT pg_catalog.array_agg(c ORDER BY c) FROM pg_catalog.unnest(e.extcondition) c))
      FROM pg_catalog.pg_extension e WHERE e.extname = 'eventbus'
    UNION ALL
    -- every member, with its comment
    SELECT format('member %s -- %s', pg_catalog.pg_describe_object(m.classid, m.objid, 0),
                  coalesce(pg_catalog.obj_description(m.objid, m.classid::pg_catalog.regclass::text), '(no comment)'))
      FROM member m
    UNION ALL
    SELECT format('schema %s: owner %s, acl %s', n.nspname, n.nspowner::pg_catalog.regrole, n.nspacl)
      FROM pg_catalog.pg_namespace n
      JOIN member m ON m.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND m.objid = n.oid
    UNION ALL
    -- functions: their whole definition, owner and privileges
    SELECT format(E'function %s: owner %s, acl %s\n%s', p.oid::pg_catalog.regprocedure,
                  p.proowner::pg_catalog.regrole, p.proacl,
                  CASE WHEN p.prokind = 'a' THEN '(aggregate)' ELSE pg_catalog.pg_get_functiondef(p.oid) END)
      FROM pg_catalog.pg_proc p
      JOIN member m ON m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND m.objid = p.oid
    UNION ALL
    -- relations
    SELECT format('relation %s: kind %s, persistence %s, owner %s, acl %s, options %s, rls %s/%s, partition key %s, bound %s',
                  c.oid::pg_catalog.regclass, c.relkind, c.relpersistence, c.relowner::pg_catalog.regrole,
                  c.relacl, c.reloptions, c.relrowsecurity, c.relforcerowsecurity,
                  CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,
                  pg_catalog.pg_get_expr(c.relpartbound, c.oid))
      FROM rel c
    UNION ALL
    SELECT format('view %s: %s', c.oid::pg_catalog.regclass, pg_catalog.pg_get_viewdef(c.oid))
      FROM rel c WHERE c.relkind IN ('v', 'm')
    UNION ALL
    -- columns, numbered by position among the live columns
    SELECT format('column %s.%s #%s: %s%s%s%s%s -- %s, acl %s', c.oid::pg_catalog.regclass, a.attname,
                  pg_catalog.row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
                  pg_catalog.format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                  CASE WHEN a.attidentity <> '' THEN ' IDENTITY ' || a.attidentity::text ELSE '' END,
                  CASE WHEN a.attgenerated <> '' THEN ' GENERATED ' || a.attgenerated::text ELSE '' END,
                  coalesce(' DEFAULT ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), ''),
                  coalesce(pg_catalog.col_description(c.oid, a.attnum), '(no comment)'), a.attacl)
      FROM rel c
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
    UNION ALL
    -- constraints of tables and domains
    SELECT format('constraint %s on %s: %s', co.conname,
                  coalesce(co.conrelid::pg_catalog.regclass::text, co.contypid::pg_catalog.regtype::text),
                  pg_catalog.pg_get_constraintdef(co.oid))
      FROM pg_catalog.pg_constraint co
     WHERE co.conrelid IN (SELECT oid FROM rel)
        OR co.contypid IN (SELECT objid FROM member WHERE classid = 'pg_catalog.pg_type'::pg_catalog.regclass)
    UNION ALL
    SELECT format('index %s', pg_catalog.pg_get_indexdef(i.indexrelid))
      FROM pg_catalog.pg_index i WHERE i.indrelid IN (SELECT oid FROM rel)
    UNION ALL
    SELECT format('trigger %s', pg_catalog.pg_get_triggerdef(t.oid))
      FROM pg_catalog.pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM rel) AND NOT t.tgisinternal
    UNION ALL
    SELECT format('policy %s on %s: %s %s to %s using (%s) check (%s)', po.polname,
                  po.polrelid::pg_catalog.regclass, po.polcmd, po.polpermissive,
                  (SELECT pg_catalog.array_agg(r::pg_catalog.regrole::text ORDER BY r::pg_catalog.regrole::text)
                     FROM pg_catalog.unnest(po.polroles) r),
                  pg_catalog.pg_get_expr(po.polqual, po.polrelid), pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid))
      FROM pg_catalog.pg_policy po WHERE po.polrelid IN (SELECT oid FROM rel)
    UNION ALL
    SELECT format('sequence %s: %s start %s inc %s min %s max %s cache %s cycle %s',
                  s.seqrelid::pg_catalog.regclass, s.seqtypid::pg_catalog.regtype, s.seqstart,
                  s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
      FROM pg_catalog.pg_sequence s WHERE s.seqrelid IN (SELECT oid FROM rel)
    UNION ALL
    SELECT format('type %s: kind %s, base %s, not null %s, default %s, owner %s, acl %s',
                  t.oid::pg_catalog.regtype, t.typtype, t.typbasetype::pg_catalog.regtype, t.typnotnull,
                  t.typdefault, t.typowner::pg_catalog.regrole, t.typacl)
      FROM pg_catalog.pg_type t
      JOIN member m ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND m.objid = t.oid
    UNION ALL
    SELECT format('operator %s: %s, restrict %s, join %s, commutator %s, negator %s',
                  o.oid::pg_catalog.regoperator, o.oprcode, o.oprrest, o.oprjoin,
                  o.oprcom::pg_catalog.regoperator, o.oprnegate::pg_catalog.regoperator)
      FROM pg_catalog.pg_operator o
      JOIN member m ON m.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND m.objid = o.oid
)
SELECT line FROM facts ORDER BY line COLLATE "C";

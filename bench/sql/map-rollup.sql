-- A prototype of the proposed per-place rollup (bench/results/2026-11-26-scale-findings.md): for every
-- place, how many records of each kind are linked to it or to a place below it (each record once), and
-- their money per currency. Kept up to date by the writes (a record's ancestors come from its places'
-- `lineage`, no recursion), it makes the unfiltered map read one row per feature and kind whatever the
-- number of records. Built here in one statement in a bench database, to time the read and the build:
--   psql "$URL" -v level=local_authority -v region=E12000007 -f bench/sql/map-rollup.sql
\set QUIET on
SELECT lineage AS lineage FROM place WHERE gss_code = :'region' \gset
\timing on
DROP TABLE IF EXISTS bench_place_rollup;
CREATE TABLE bench_place_rollup AS
WITH links (kind, record_id, place) AS (
  SELECT 'interest_group', interest_group, place FROM interest_group_place
  UNION ALL SELECT 'co_funding', co_funding, place FROM co_funding_place
  UNION ALL SELECT 'research', research, place FROM research_place
  UNION ALL SELECT 'grant', "grant", place FROM grant_place
  UNION ALL SELECT 'engagement', engagement, place FROM engagement_place
  UNION ALL SELECT 'organisation', id, home_place FROM organisation WHERE home_place IS NOT NULL
),
ancestry AS (  -- each record once under each place above (or at) any of its places
  SELECT DISTINCT l.kind, l.record_id, a.id AS place
  FROM links l JOIN place p ON p.id = l.place
  CROSS JOIN LATERAL unnest(string_to_array(trim(BOTH '/' FROM p.lineage), '/')::uuid[]) AS a(id)
),
money (kind, record_id, currency, amount) AS (
  SELECT 'grant', id, COALESCE(currency, 'GBP'), amount FROM "grant" WHERE amount IS NOT NULL
  UNION ALL SELECT 'co_funding', co_funding, COALESCE(currency, 'GBP'), amount FROM contribution
  WHERE amount IS NOT NULL
)
SELECT a.place, a.kind, NULL::text AS currency, count(*) AS n, NULL::numeric AS amount FROM ancestry a
GROUP BY a.place, a.kind
UNION ALL
SELECT a.place, a.kind, m.currency, NULL, sum(m.amount) FROM ancestry a
JOIN money m ON m.kind = a.kind AND m.record_id = a.record_id
GROUP BY a.place, a.kind, m.currency;
CREATE INDEX ON bench_place_rollup (place);
ANALYZE bench_place_rollup;
\timing off
-- The map's counts for the region's features, read from the rollup:
EXPLAIN (ANALYZE, BUFFERS)
SELECT r.place AS feature, r.kind, r.currency, r.n, r.amount
FROM place f JOIN bench_place_rollup r ON r.place = f.id
WHERE f.level = :'level' AND f.lat IS NOT NULL AND f.lon IS NOT NULL AND f.lineage LIKE :'lineage' || '%';
DROP TABLE bench_place_rollup;

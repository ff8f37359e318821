-- The map's counts for one region, in the shape proposed in bench/results/2026-11-26-scale-findings.md:
-- the region's places first, then only the links to them (each link table's index on `place`), so the
-- work is the records in the region, not every record in the database; no `record_id IN (SELECT ...
-- selected)` semi-join when nothing filters the records. Same answer as the service's query with no
-- filters (kinds, organisation, dates). Run with psql:
--   psql "$URL" -v level=local_authority -v region=E12000007 -f bench/sql/map-region-first.sql
\set QUIET on
\timing off
SELECT lineage AS lineage FROM place WHERE gss_code = :'region' \gset
EXPLAIN (ANALYZE, BUFFERS)
WITH feature AS (
  SELECT id, lineage FROM place
  WHERE level = :'level' AND lat IS NOT NULL AND lon IS NOT NULL AND lineage LIKE :'lineage' || '%'
),
depths AS (SELECT DISTINCT length(lineage) AS n FROM feature),
-- every place in the region with the feature that covers it
inside AS (
  SELECT f.id AS feature, p.id AS place FROM place p
  JOIN depths d ON length(p.lineage) >= d.n
  JOIN feature f ON f.lineage = substr(p.lineage, 1, d.n)
  WHERE p.lineage LIKE :'lineage' || '%'
),
located (kind, record_id, place) AS (
  SELECT 'interest_group', interest_group, place FROM interest_group_place WHERE place IN (SELECT place FROM inside)
  UNION ALL SELECT 'co_funding', co_funding, place FROM co_funding_place WHERE place IN (SELECT place FROM inside)
  UNION ALL SELECT 'research', research, place FROM research_place WHERE place IN (SELECT place FROM inside)
  UNION ALL SELECT 'grant', "grant", place FROM grant_place WHERE place IN (SELECT place FROM inside)
  UNION ALL SELECT 'engagement', engagement, place FROM engagement_place WHERE place IN (SELECT place FROM inside)
  UNION ALL SELECT 'organisation', id, home_place FROM organisation WHERE home_place IN (SELECT place FROM inside)
),
covered AS (SELECT DISTINCT i.feature, l.kind, l.record_id FROM located l JOIN inside i ON i.place = l.place)
SELECT feature, kind, NULL AS currency, COUNT(*) AS n, NULL AS amount FROM covered GROUP BY feature, kind
UNION ALL SELECT c.feature, 'grant', COALESCE(g.currency, 'GBP'), NULL, SUM(g.amount)
  FROM covered c JOIN "grant" g ON g.id = c.record_id
  WHERE c.kind = 'grant' AND g.amount IS NOT NULL GROUP BY c.feature, COALESCE(g.currency, 'GBP')
UNION ALL SELECT c.feature, 'co_funding', COALESCE(m.currency, 'GBP'), NULL, SUM(m.amount)
  FROM covered c JOIN contribution m ON m.co_funding = c.record_id
  WHERE c.kind = 'co_funding' AND m.amount IS NOT NULL GROUP BY c.feature, COALESCE(m.currency, 'GBP');

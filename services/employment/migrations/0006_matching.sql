-- Matching a post against every candidate of its catchment (MatchCandidates) and a candidate
-- against the open posts (MatchPosts) in one query each (employment.adapters.post_store).

-- Row-level security checks its policy on every row a query reads. Written with the function
-- itself, `LIKE ANY (cdsp_scope_patterns())` is inlined and splits the cdsp.scope setting again
-- for each row (about 0.8 µs: 80 ms of a match over 100,000 candidates). As a sub-select it is
-- an InitPlan, computed once per query. Same rows, same meaning.
ALTER POLICY candidates_in_scope ON candidates
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));
ALTER POLICY posts_in_scope ON posts
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));

-- Two covering indexes, so that matching reads index tuples only (an index-only scan) instead
-- of heap rows. Under FORCE ROW LEVEL SECURITY only leakproof conditions can be index
-- conditions: subtree ranges (~>=~ ~<~) and plain comparisons of the key columns are.
--   area: a post's street (a few thousand candidates) is one range of it; every candidate
--         there that passes is scored.
--   rank: for a remote or city-wide post the location scores the same everywhere, so within
--         one (category, track, grade, wants_work) points only grow with total_score: the best
--         of each such group are the first entries of its range, and only those are read.
CREATE INDEX candidates_match_area ON candidates (jurisdiction_path text_pattern_ops)
    INCLUDE (person_id, category, grade, birth_date, track, total_score, wants_work, assessed,
             placed_full_time, scores)
    WHERE NOT archived;
CREATE INDEX candidates_match_rank ON candidates
    (category, track, grade, wants_work, total_score DESC, person_id)
    INCLUDE (birth_date, jurisdiction_path, assessed, placed_full_time, scores)
    WHERE NOT archived;

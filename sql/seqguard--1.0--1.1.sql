-- seqguard 1.0 -> 1.1. After this script a database holds exactly what a fresh 1.1
-- install makes (scripts/check-versions --server compares them), and every counter
-- keeps its position.
\echo Use "ALTER EXTENSION seqguard UPDATE TO '1.1'" to load this file. \quit

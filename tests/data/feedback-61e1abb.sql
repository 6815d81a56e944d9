PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE feedback (at TEXT NOT NULL DEFAULT (datetime('now')), user_id INTEGER, chat_id INTEGER, vote INTEGER NOT NULL, question TEXT NOT NULL, mode TEXT NOT NULL, answered INTEGER NOT NULL, article_ids TEXT NOT NULL);
INSERT INTO feedback VALUES('2026-11-29 23:34:49',205,205,1,'What did Peskov say about mediation?','extractive',1,'["sputnik-peskov"]');
INSERT INTO feedback VALUES('2026-11-29 23:34:49',NULL,-1001,-1,'كم عدد النازحين؟','extractive',0,'[]');
COMMIT;

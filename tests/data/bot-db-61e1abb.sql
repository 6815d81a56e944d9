PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE schema_version (
	version INTEGER NOT NULL, 
	PRIMARY KEY (version)
);
INSERT INTO schema_version VALUES(1);
CREATE TABLE subscriptions (
	id INTEGER NOT NULL, 
	chat_id BIGINT NOT NULL, 
	kind VARCHAR(10) NOT NULL, 
	title VARCHAR(255), 
	hour INTEGER NOT NULL, 
	minute INTEGER NOT NULL, 
	tz VARCHAR(64) NOT NULL, 
	lang VARCHAR(2) NOT NULL, 
	active BOOLEAN NOT NULL, 
	created_by BIGINT, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (chat_id)
);
INSERT INTO subscriptions VALUES(1,501,'user',NULL,8,0,'Asia/Baku','ar',1,501,'2026-11-29 23:34:49.094701');
INSERT INTO subscriptions VALUES(2,-100602,'group',NULL,9,30,'UTC','en',0,7,'2026-11-29 23:34:49.098876');
INSERT INTO subscriptions VALUES(3,-100777,'channel','@karabakh_news',7,0,'Asia/Yerevan','ar',1,950,'2026-11-29 23:34:49.102021');
CREATE TABLE deliveries (
	id INTEGER NOT NULL, 
	subscription_id INTEGER NOT NULL, 
	chat_id BIGINT NOT NULL, 
	slot DATETIME NOT NULL, 
	sent_at DATETIME, 
	article_ids TEXT NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (subscription_id, slot), 
	FOREIGN KEY(subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE
);
INSERT INTO deliveries VALUES(1,1,501,'2026-06-01 04:00:00.000000','2026-06-01 04:00:03.000000','["armenpress-lachin-2023", "markup-article"]');
INSERT INTO deliveries VALUES(2,3,-100777,'2026-06-01 04:00:00.000000',NULL,'[]');
COMMIT;

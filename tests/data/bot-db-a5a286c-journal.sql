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
INSERT INTO subscriptions VALUES(1,501,'user',NULL,8,0,'Asia/Baku','ar',1,501,'2026-11-29 23:34:56.681310');
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
INSERT INTO deliveries VALUES(1,1,501,'2026-06-01 04:00:00.000000','2026-06-01 04:00:03.000000','["armenpress-lachin-2023"]');
CREATE TABLE update_journal (
	bot_id BIGINT NOT NULL, 
	update_id BIGINT NOT NULL, 
	payload TEXT NOT NULL, 
	received_at DATETIME NOT NULL, 
	attempts INTEGER NOT NULL, 
	done_at DATETIME, 
	PRIMARY KEY (bot_id, update_id)
);
INSERT INTO update_journal VALUES(987654321,41,'{"message": {"channel_chat_created": false, "delete_chat_photo": false, "group_chat_created": false, "supergroup_chat_created": false, "text": "What did Peskov say?", "chat": {"id": 204, "type": "private"}, "date": 1780000000, "message_id": 11, "from": {"first_name": "A", "id": 204, "is_bot": false}}, "update_id": 41}','2026-11-29 23:34:56.700861',0,NULL);
INSERT INTO update_journal VALUES(987654321,40,'','2026-11-29 23:34:56.704836',0,'2026-11-29 23:34:56.707814');
COMMIT;

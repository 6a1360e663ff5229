-- Last step of CREATE EXTENSION: start this database's delivery workers.
SELECT eventbus._wake_launcher();

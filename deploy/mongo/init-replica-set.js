// Run by the mongo-init service (mongosh, as the root user, connected to mongo1) on every
// `docker compose up`; does only what is not done yet:
// 1. the replica set rs0 of the three members;
// 2. Kartoteka's own user, limited to its database (its password is MONGO_APP_PASSWORD).
const members = ['mongo1:27017', 'mongo2:27017', 'mongo3:27017'];

try {
  rs.status();
} catch (error) {
  if (error.codeName !== 'NotYetInitialized') throw error;
  rs.initiate({ _id: 'rs0', members: members.map((host, i) => ({ _id: i, host, priority: i === 0 ? 2 : 1 })) });
  print('replica set rs0 initiated');
}

// Through the replica set, so the user is written on whichever member is primary.
const root = `${encodeURIComponent(process.env.MONGO_INITDB_ROOT_USERNAME)}:${encodeURIComponent(process.env.MONGO_INITDB_ROOT_PASSWORD)}`;
const kartoteka = connect(`mongodb://${root}@${members.join(',')}/admin?replicaSet=rs0`).getSiblingDB('kartoteka');
if (!kartoteka.getUser('kartoteka')) {
  kartoteka.createUser({
    user: 'kartoteka',
    pwd: process.env.MONGO_APP_PASSWORD,
    roles: [
      { role: 'readWrite', db: 'kartoteka' },
      { role: 'dbAdmin', db: 'kartoteka' },
    ],
  });
  print('user kartoteka created');
}

import type ru from './ru';

const en: typeof ru = {
  app: { name: 'Kartoteka', tagline: 'A shared card index of clients', language: 'Language', guest: 'Not signed in' },
  nav: { home: 'Home', about: 'About' },
  home: {
    title: 'Welcome to Kartoteka',
    lead: 'Libraries of folders holding cards of counterparties, contact persons, proposals and contracts, shared by departments.',
  },
  about: { title: 'About' },
  server: {
    title: 'Server',
    version: 'Version',
    database: 'Database',
    node: 'Node.js',
    startedAt: 'Started',
    loading: 'Loading server information…',
    failed: 'Could not load server information: {message}',
    retry: 'Retry',
    databaseKinds: {
      mongodb: 'MongoDB',
      'embedded-mongod': 'embedded MongoDB (mongodb-memory-server)',
      'kartoteka-memory': 'built-in MongoDB-compatible server (for evaluation)',
    },
  },
  notFound: { title: 'Page not found', back: 'Back to home' },
};

export default en;

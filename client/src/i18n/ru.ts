export default {
  app: { name: 'Картотека', tagline: 'Общая картотека клиентов', language: 'Язык', guest: 'Вход не выполнен' },
  nav: { home: 'Главная', about: 'О системе' },
  home: {
    title: 'Добро пожаловать в Картотеку',
    lead: 'Библиотеки папок с карточками контрагентов, контактных лиц, предложений и договоров — общие для подразделений.',
  },
  about: { title: 'О системе' },
  server: {
    title: 'Сервер',
    version: 'Версия',
    database: 'База данных',
    node: 'Node.js',
    startedAt: 'Запущен',
    loading: 'Загрузка сведений о сервере…',
    failed: 'Не удалось получить сведения о сервере: {message}',
    retry: 'Повторить',
    databaseKinds: {
      mongodb: 'MongoDB',
      'embedded-mongod': 'встроенный MongoDB (mongodb-memory-server)',
      'kartoteka-memory': 'встроенный совместимый с MongoDB сервер (для ознакомления)',
    },
  },
  notFound: { title: 'Страница не найдена', back: 'На главную' },
};

import { Types } from 'mongoose';
import { builtInCardTypes } from '../card-types';
import { searchIndexOf } from '../server/src/cards/search-text';
import { Card } from '../server/src/cards/model';
import { renderTitle } from '../server/src/card-types/title';
import { Folder, Library } from '../server/src/folders/models';
import { User } from '../server/src/people/models';

const counterparty = builtInCardTypes.find((type) => type.key === 'counterparty')!;
const WORDS = ['Альфа', 'Бета', 'Гамма', 'Дельта', 'Сигма', 'Омега', 'Вектор', 'Прогресс', 'Север', 'Восток', 'Гранит', 'Меридиан'];
const CITIES = ['Москва', 'Казань', 'Тверь', 'Омск', 'Пермь', 'Самара'];
const TAGS = ['поставщик', 'партнёр', 'ключевой клиент', 'опт', 'розница'];

/**
 * Bulk-generates counterparties for benchmarks (insertMany in batches, bypassing the card
 * service on purpose: 100,000 cards through transactions would take most of an hour).
 * Returns the folder's id; the folder is readable by every user with `grantUserIds` full access.
 */
export async function generateCounterparties(options: { count: number; folderName: string; libraryName?: string; grantUserIds?: string[]; onProgress?: (done: number) => void }): Promise<string> {
  const admin = await User.findOne({ loginKey: 'admin' }).lean();
  if (!admin) throw new Error('the administrator must exist before generating cards');
  const libraryName = options.libraryName ?? 'Нагрузка';
  const library = (await Library.findOne({ name: libraryName })) ?? (await Library.create({ name: libraryName, order: 99 }));
  const folder = await Folder.create({
    libraryId: library._id,
    name: options.folderName,
    allowedCardTypes: ['counterparty'],
    defaultCardType: 'counterparty',
    accessEntries: (options.grantUserIds ?? []).map((id) => ({ principalType: 'user', principalId: new Types.ObjectId(id), level: 'full' })),
  });
  const batchSize = 2000;
  const started = Date.now();
  // INN is unique per type: continue after the counterparties already stored.
  const innOffset = await Card.countDocuments({ typeKey: 'counterparty' });
  for (let offset = 0; offset < options.count; offset += batchSize) {
    const batch = [];
    for (let i = offset; i < Math.min(offset + batchSize, options.count); i += 1) {
      const values = {
        name: `ООО «${WORDS[i % WORDS.length]}-${i}»`,
        inn: String(1000000000 + (innOffset + i) * 7),
        legalAddress: `${CITIES[i % CITIES.length]}, ул. Заводская, д. ${(i % 300) + 1}`,
        phone: `+7 900 ${String(i % 1000).padStart(3, '0')}-${String(i % 100).padStart(2, '0')}-00`,
        tags: [TAGS[i % TAGS.length]],
      };
      const title = renderTitle(counterparty, values, 'ru');
      const at = new Date(started - (options.count - i) * 1000);
      batch.push({
        typeKey: 'counterparty',
        folderId: folder._id,
        libraryId: library._id,
        title,
        values,
        ...searchIndexOf(counterparty, title, values),
        version: 1,
        // insertMany with `lean` skips schema defaults: every stored field is spelled out.
        inTrash: false,
        trashedAt: null,
        trashedBy: null,
        createdBy: admin._id,
        updatedBy: admin._id,
        createdAt: at,
        updatedAt: at,
      });
    }
    await Card.insertMany(batch, { ordered: false, lean: true });
    options.onProgress?.(Math.min(offset + batchSize, options.count));
  }
  return String(folder._id);
}

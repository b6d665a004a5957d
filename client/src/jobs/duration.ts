import { useI18n } from 'vue-i18n';

/** Writes a time left in the interface's language: «45 с», «3 мин 5 с», «1 ч 20 мин». */
export function useDuration(): (seconds: number) => string {
  const { t } = useI18n();
  return (seconds) => {
    const minutes = Math.floor(seconds / 60);
    const rest = seconds % 60;
    if (minutes >= 60) return t('jobs.hoursMinutes', { h: Math.floor(minutes / 60), m: minutes % 60 });
    return minutes > 0 ? t('jobs.minutesSeconds', { m: minutes, s: rest }) : t('jobs.seconds', { s: rest });
  };
}

// `npm run seed`: demo data for trying the server by hand. Safe to run twice: it creates what
// is missing and says what it found. Demo passwords are printed; never run this in production.
import { MikroORM } from '@mikro-orm/postgresql';
import { loadConfig } from '../server/config/config.js';
import { migrateUp } from '../server/platform/db/database.js';
import { ormOptions } from '../server/platform/db/orm-options.js';
import { hashPassword } from '../server/modules/auth/passwords.js';
import { Course, Enrollment, Lesson, Quiz, QuizQuestion, User, type ILesson, type UserRole } from '../entities/index.js';

const config = loadConfig();
if (config.nodeEnv === 'production') {
  console.error('refusing to load demo data with NODE_ENV=production');
  process.exit(1);
}

await migrateUp(config);
const orm = await MikroORM.init(ormOptions(config));
const em = orm.em.fork();
const created: string[] = [];

async function user(email: string, fullName: string, role: UserRole, password: string) {
  const existing = await em.findOne(User, { email });
  if (existing) return existing;
  const entity = em.create(User, { email, fullName, role, passwordHash: await hashPassword(password) });
  created.push(`${role.padEnd(10)} ${email} / ${password}`);
  return entity;
}

const admin = await user(config.adminEmail ?? 'admin@example.com', 'Ada Admin', 'admin', config.adminPassword ?? 'admin-password');
const instructor = await user('instructor@example.com', 'Ivan Instructor', 'instructor', 'instructor-password');
const students = await Promise.all(
  ['alice', 'bob', 'carol'].map((name) => user(`${name}@example.com`, `${name[0]!.toUpperCase()}${name.slice(1)} Student`, 'student', 'student-password')),
);
await em.flush();

const slug = 'intro-to-sql';
let course = await em.findOne(Course, { slug });
if (!course) {
  course = em.create(Course, {
    title: 'Introduction to SQL',
    slug,
    description: 'Tables, queries and joins, with a timed quiz at the end of each module.',
    instructor,
    category: 'databases',
    difficultyLevel: 'beginner',
    isPublished: true,
    estimatedDurationMinutes: 90,
  });
  const lesson = (
    title: string,
    lessonSlug: string,
    orderIndex: number,
    parent?: ILesson,
    extra: Partial<{ isPreview: boolean; lessonType: 'video' | 'text' | 'quiz'; videoUrl: string }> = {},
  ): ILesson =>
    em.create(Lesson, {
      course: course!,
      title,
      slug: lessonSlug,
      orderIndex,
      parentLesson: parent,
      content: `# ${title}\n\nLesson content in Markdown.`,
      lessonType: extra.lessonType ?? 'text',
      isPreview: extra.isPreview ?? false,
      videoUrl: extra.videoUrl,
    });
  const module1 = lesson('Module 1: Tables', 'module-1-tables', 0, undefined, { isPreview: true });
  lesson('What is a table?', 'what-is-a-table', 0, module1, { isPreview: true });
  lesson('Creating tables', 'creating-tables', 1, module1, { lessonType: 'video', videoUrl: 'https://example.com/videos/creating-tables.mp4' });
  const module2 = lesson('Module 2: Queries', 'module-2-queries', 1);
  lesson('SELECT and WHERE', 'select-and-where', 0, module2);
  const quizLesson = lesson('Quiz: queries', 'quiz-queries', 1, module2, { lessonType: 'quiz' });
  const quiz = em.create(Quiz, {
    lesson: quizLesson,
    title: 'Queries pop quiz',
    quizType: 'graded',
    passingScore: 60,
    timeLimitSeconds: 180,
    maxAttempts: 3,
    shuffleQuestions: true,
    shuffleOptions: true,
    showCorrectAnswers: true,
    isPublished: true,
  });
  em.create(QuizQuestion, {
    quiz,
    questionText: 'Which clause filters rows?',
    questionType: 'multiple_choice',
    points: 2,
    orderIndex: 0,
    options: [
      { id: 'a', text: 'WHERE', isCorrect: true },
      { id: 'b', text: 'ORDER BY', isCorrect: false },
      { id: 'c', text: 'GROUP BY', isCorrect: false },
    ],
    explanation: 'WHERE keeps the rows for which its condition is true.',
  });
  em.create(QuizQuestion, { quiz, questionText: 'SELECT * returns every column.', questionType: 'true_false', points: 1, orderIndex: 1, correctAnswer: true });
  em.create(QuizQuestion, {
    quiz,
    questionText: 'Which keyword removes duplicate rows?',
    questionType: 'short_answer',
    points: 1,
    orderIndex: 2,
    correctAnswer: { accepted: ['DISTINCT'], caseSensitive: false },
  });
  await em.flush();
  created.push(`course     ${course.title} (/api/courses/${slug}) with 6 lessons and a 3-minute graded quiz`);
}

for (const student of students) {
  const existing = await em.findOne(Enrollment, { student, course });
  if (!existing) {
    em.create(Enrollment, { student, course, totalLessonsCount: 6 });
    created.push(`enrolment  ${student.email} → ${slug}`);
  }
}
await em.flush();
await orm.close();

console.log(created.length ? `created:\n  ${created.join('\n  ')}` : 'demo data already present; nothing created');
console.log(`admin: ${admin.email}`);

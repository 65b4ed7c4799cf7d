"""The labelled course documents of bench/knowledge_search.py: Markdown lessons of a Python course,
half in English, half in Russian. The first two are the demo's lessons (assistants/demo.py), copied
as they were so that the labels here do not move when the demo changes; the rest were written for
the benchmark. Each `##` section is one passage or two (knowledge.documents.passages_split)."""

LESSONS = {
    "lesson-1-loops.md": r"""# Lesson 1. Loops

A `for` loop walks over the items of a sequence: `for name in names: print(name)`.
A `while` loop repeats its body as long as its condition is true: `while n > 0: n -= 1`.
Use `break` to leave a loop early and `continue` to skip to the next round.
`range(5)` gives the numbers 0, 1, 2, 3, 4 — handy for counting loops.
The homework for lesson 1 is due on Friday.
""",
    "урок-2-функции.md": r"""# Урок 2. Функции

Функция объявляется словом `def`: `def greet(name): return "Привет, " + name`.
Аргументы по умолчанию задаются так: `def power(x, n=2): return x ** n`.
Функция без `return` возвращает `None`.
Документируйте функции строкой документации (docstring) в первой строке тела.
Домашнее задание ко второму уроку нужно сдать до понедельника.
""",
    "lesson-3-lists.md": r"""# Lesson 3. Lists and tuples

## Creating lists

A list keeps several values in order: `scores = [90, 75, 88]`. An empty list is `[]` or `list()`. Lists may
hold values of different types, even other lists. The first element has index 0, so `scores[0]` is 90, and
negative indexes count from the end: `scores[-1]` is the last element. Asking for an index past the end raises
`IndexError: list index out of range`. The built-in `len(scores)` tells how many elements a list has.

## Adding and removing elements

`append(x)` adds one element at the end; `extend(other)` adds all elements of another list; `insert(i, x)` puts
`x` before position `i`. To take elements out, `remove(x)` deletes the first element equal to `x` (and raises
`ValueError` when there is none), `pop()` removes and returns the last element, `pop(i)` the one at position
`i`, and `del scores[i]` deletes without returning anything. `clear()` empties the list.

## Slicing and copying

A slice takes part of a list: `scores[1:3]` gives the elements at positions 1 and 2, `scores[:2]` the first two,
`scores[::-1]` the whole list reversed. A slice is a new list. Assignment `b = a` does not copy: both names
refer to the same list, and a change made through `b` shows in `a` as well. Make a shallow copy with `a.copy()`
or `a[:]`, and use `copy.deepcopy(a)` when the list holds other lists.

## Sorting

`scores.sort()` sorts the list in place and returns `None`, so `scores = scores.sort()` loses your list.
`sorted(scores)` returns a new sorted list and leaves the original alone. Both accept `reverse=True` for
descending order and `key=` for a custom order: `sorted(words, key=len)` sorts words by their length.

## Tuples

A tuple is like a list that cannot be changed after it is created: `point = (3, 4)`. Trying `point[0] = 5`
raises `TypeError`. A tuple with one element needs a trailing comma: `(5,)`. Tuples are handy for returning
several values from a function and for unpacking: `x, y = point`. Because they are immutable, tuples can be
dictionary keys and lists cannot.
""",
    "урок-4-строки.md": r"""# Урок 4. Строки

## Строки и срезы

Строка — это последовательность символов в одинарных или двойных кавычках: `'кот'` и `"кот"` одинаковы.
Многострочный текст пишут в тройных кавычках. Символ получают по индексу: `s[0]` — первый, `s[-1]` — последний,
а срез `s[1:4]` возвращает символы с первого по третий. Строки неизменяемы: присваивание `s[0] = "К"` вызывает
`TypeError`, поэтому для изменения создают новую строку, например `s = "К" + s[1:]`. Длину строки возвращает
функция `len(s)`.

## Методы строк

Метод `split()` разбивает строку на список слов по пробелам, а `split(",")` — по запятым. Обратная операция —
`", ".join(words)`: она склеивает список строк через разделитель. `strip()` убирает пробелы и переводы строк по
краям, `lower()` и `upper()` меняют регистр, `replace("a", "b")` заменяет все вхождения подстроки, а `find("x")`
возвращает позицию подстроки или -1, если её нет. Проверить начало строки помогает `startswith()`.

## Форматирование

Удобнее всего подставлять значения в текст с помощью f-строк: `f"Привет, {name}! Тебе {age} лет"`. Внутри
фигурных скобок можно писать выражения и формат: `f"{price:.2f}"` выводит число с двумя знаками после запятой,
`f"{n:>5}"` выравнивает его по правому краю. Старые способы — метод `format()` и оператор `%` — встречаются в
чужом коде, но в новом лучше использовать f-строки.
""",
    "lesson-5-dictionaries.md": r"""# Lesson 5. Dictionaries and sets

## Dictionaries

A dictionary maps keys to values: `ages = {"Ann": 31, "Bob": 25}`. Read a value with `ages["Ann"]`; a missing
key raises `KeyError`. The method `ages.get("Eve")` returns `None` instead, and `ages.get("Eve", 0)` returns the
default you give. Add or change an entry with `ages["Eve"] = 40` and remove one with `del ages["Bob"]` or
`ages.pop("Bob")`. The operator `in` checks keys, not values: `"Ann" in ages` is `True`.

## Looping over a dictionary

A `for` loop over a dictionary gives its keys. Use `ages.values()` for the values and `ages.items()` for pairs:
`for name, age in ages.items(): print(name, age)`. Since Python 3.7 dictionaries remember insertion order. Do
not add or delete keys while looping over the same dictionary: Python stops with
`RuntimeError: dictionary changed size during iteration`; loop over `list(ages)` instead.

## Keys

Keys must be hashable: strings, numbers and tuples of them work, lists do not
(`TypeError: unhashable type: 'list'`). Each key appears once; assigning to an existing key replaces its value.
To count things, `collections.Counter(words)` builds a dictionary of counts for you, and `dict.setdefault` or
`collections.defaultdict(list)` help to group values under a key.

## Sets

A set holds unique values without order: `set([1, 2, 2, 3])` is `{1, 2, 3}`, which is the quickest way to drop
duplicates from a list. Note that `{}` is an empty dictionary; an empty set is written `set()`. Sets support
union `a | b`, intersection `a & b` and difference `a - b`, and checking membership with `in` is fast even for
large sets.
""",
    "урок-6-файлы.md": r"""# Урок 6. Работа с файлами

## Открытие файла

Файл открывают функцией `open(path, mode, encoding="utf-8")`. Режим `"r"` (по умолчанию) — чтение, `"w"` —
запись с очисткой файла, `"a"` — дописывание в конец, `"x"` — создание нового файла, если такого ещё нет. Лучше
открывать файл в блоке `with open("data.txt", encoding="utf-8") as f:` — тогда файл закроется сам, даже если
внутри случится ошибка.

Всегда указывайте кодировку: в Windows по умолчанию используется не UTF-8, и русский текст превращается в
кракозябры или вызывает `UnicodeDecodeError`.

## Чтение и запись

`f.read()` читает весь файл в одну строку, `f.readlines()` — в список строк, а цикл `for line in f:` перебирает
строки по одной и не держит весь файл в памяти, что важно для больших файлов. У каждой прочитанной строки в конце
остаётся символ `\n`, его убирают методом `rstrip()`. Метод `f.write(text)` записывает строку и сам перевод
строки не добавляет, а `print(..., file=f)` добавляет.

## Пути и папки

Модуль `pathlib` работает с путями независимо от системы: `Path("data") / "report.txt"` соберёт путь с
правильным разделителем. `Path.exists()` проверяет, есть ли файл, `Path.read_text()` читает его целиком, а
`Path.mkdir(parents=True)` создаёт папку вместе с родительскими. Ошибка `FileNotFoundError` чаще всего значит,
что программа запущена из другой рабочей папки: относительный путь отсчитывается от текущей директории, а не от
файла скрипта.

## CSV и JSON

Таблицы удобно читать модулем `csv`: `csv.DictReader(f)` возвращает каждую строку как словарь с названиями
столбцов. Файл для `csv` открывают с `newline=""`, иначе в Windows появляются пустые строки. Данные в формате
JSON загружают функцией `json.load(f)` и сохраняют через `json.dump(data, f, ensure_ascii=False, indent=2)`;
параметр `ensure_ascii=False` сохраняет кириллицу читаемой.
""",
    "lesson-7-exceptions.md": r"""# Lesson 7. Exceptions

## Catching errors

When something goes wrong, Python raises an exception and, if nobody catches it, the program stops with a
traceback. Put the risky code in a `try` block and handle the error in `except`:

    try:
        number = int(text)
    except ValueError:
        print("Not a number")

Catch the specific exception you expect; a bare `except:` also swallows `KeyboardInterrupt` and hides bugs.
Several types can share one handler: `except (ValueError, TypeError) as error:`, and `error` then holds the
exception object with its message.

## else and finally

The `else` block runs only when the `try` block raised nothing, and `finally` runs always, whether there was an
error or not — the place to close files or connections. A `return` inside `try` still runs `finally` before the
function returns.

## Raising exceptions

Your own code can signal a problem with `raise ValueError("age must be positive")`. Define your own exception
types by inheriting from `Exception`: `class GradeError(Exception): pass`. Inside an `except` block a bare
`raise` re-raises the current exception, and `raise NewError(...) from error` keeps the original cause in the
traceback.

## Reading a traceback

Read a traceback from the bottom up: the last line names the exception type and its message, for example
`ZeroDivisionError: division by zero`, and the lines above show the chain of calls, most recent call last, with
file names and line numbers. Start from the last line that points into your own file; that is usually where the
mistake is.
""",
    "урок-8-условия.md": r"""# Урок 8. Условия

## if, elif и else

Условный оператор выполняет блок кода, только если условие истинно:

    if score >= 90:
        grade = "отлично"
    elif score >= 70:
        grade = "хорошо"
    else:
        grade = "попробуйте ещё"

Ветки проверяются сверху вниз, и выполняется только первая подходящая. После условия обязательно ставится
двоеточие, а тело блока сдвигается отступом в четыре пробела; без отступа Python сообщает `IndentationError`.

## Сравнения и логические операторы

Для сравнения используют `==`, `!=`, `<`, `>`, `<=` и `>=`; одиночный знак `=` — это присваивание, и в условии
он вызывает `SyntaxError`. Условия объединяют словами `and` (оба истинны), `or` (хотя бы одно) и `not`
(отрицание). Python умеет сравнивать цепочкой: `0 <= x < 10`. Проверять `None` принято через `is`:
`if result is None:`.

## Истинность значений

В условии любое значение превращается в `True` или `False`. Ложны `0`, `0.0`, пустая строка `""`, пустые
список, кортеж и словарь, а также `None`; всё остальное истинно. Поэтому проверить, что список не пуст, можно
короче: `if items:` вместо `if len(items) > 0:`. Короткое условие в одну строку записывают тернарным выражением:
`status = "сдано" if passed else "не сдано"`.
""",
    "lesson-9-classes.md": r"""# Lesson 9. Classes and objects

## Defining a class

A class describes a kind of object; each object made from it is an instance. The method `__init__` runs when an
instance is created and sets its attributes:

    class Student:
        def __init__(self, name, grade):
            self.name = name
            self.grade = grade

`self` is the instance itself and must be the first parameter of every method; Python passes it for you, so you
call `ann = Student("Ann", 5)` with two arguments. Forgetting `self` in the definition gives
`TypeError: takes 0 positional arguments but 1 was given`.

## Methods and attributes

Methods are functions defined inside the class: `def describe(self): return f"{self.name}: {self.grade}"`.
Attributes set on `self` belong to one instance; a variable written directly in the class body is a class
attribute shared by all instances. Define `__str__` to control what `print(ann)` shows and `__repr__` for the
developer's view in the console.

## Inheritance

A class can inherit from another and reuse its methods: `class Graduate(Student):`. The child may override a
method by defining one with the same name, and call the parent's version with `super().__init__(name, grade)`.
`isinstance(ann, Student)` is `True` for instances of subclasses too.

## Data classes

For classes that mostly hold data, the decorator `@dataclass` from the module `dataclasses` writes `__init__`,
`__repr__` and `__eq__` from annotated fields such as `name: str` and `grade: int = 0`. Instances then compare
equal when their fields are equal.
""",
    "урок-10-ещё-о-функциях.md": r"""# Урок 10. Ещё о функциях

## Произвольное число аргументов

Параметр со звёздочкой `*args` собирает все лишние позиционные аргументы в кортеж, а `**kwargs` — именованные
аргументы в словарь: `def log(*args, **kwargs): print(args, kwargs)`. Звёздочка работает и при вызове:
`print(*numbers)` распаковывает список в отдельные аргументы.

Не используйте изменяемое значение по умолчанию, например `def add(item, items=[])`: список создаётся один раз и
копит элементы между вызовами; пишите `items=None` и создавайте список внутри.

## Анонимные функции

Выражение `lambda x: x * 2` создаёт маленькую функцию без имени. Чаще всего её передают как аргумент:
`sorted(students, key=lambda s: s.grade)` сортирует студентов по оценке, а `max(words, key=len)` находит самое
длинное слово. Тело лямбды — одно выражение; если нужно несколько строк, напишите обычную функцию через `def`.

## Область видимости

Переменная, которой присвоили значение внутри функции, локальна: снаружи её не видно, а одноимённая глобальная
переменная не меняется. Чтобы изменить глобальную переменную, объявляют `global counter`, а для переменной
объемлющей функции — `nonlocal`. Ошибка `UnboundLocalError` возникает, когда функция читает переменную до того,
как присвоить ей значение. Лучше передавать данные через параметры и возвращать результат через `return`.

## Рекурсия

Рекурсивная функция вызывает сама себя, например факториал: `def fact(n): return 1 if n <= 1 else n * fact(n - 1)`.
У рекурсии обязательно должен быть базовый случай, иначе вызовы не закончатся и Python остановит программу с
ошибкой `RecursionError: maximum recursion depth exceeded` (по умолчанию глубина — около тысячи вызовов).
""",
    "lesson-11-modules.md": r"""# Lesson 11. Modules and packages

## Importing

A module is a `.py` file; `import math` runs it once and gives you its names as `math.sqrt`. `from math import
sqrt` brings one name in directly, and `import numpy as np` gives a short alias. Avoid `from module import *`:
it hides where names come from. Python looks for modules in the script's folder first, so a file of your own
called `random.py` shadows the standard module — rename it if `import random` behaves strangely.

## Running as a script

Every module has a `__name__`. When you run a file directly it is `"__main__"`, and when the file is imported it
is the module's name. Code under `if __name__ == "__main__":` therefore runs only when the file is started as a
program, not on import — the usual place for a `main()` call.

## Installing packages

Third-party packages are installed with `pip install requests`. Make a virtual environment for each project
first: `python -m venv .venv`, then activate it (`source .venv/bin/activate`, or `.venv\Scripts\activate` on
Windows) so that packages go into the project and not into the system Python. Write the versions you use to
`requirements.txt` with `pip freeze > requirements.txt`; others install them with `pip install -r
requirements.txt`.

## Style

Follow PEP 8: four spaces for indentation, `snake_case` for functions and variables, `CamelCase` for classes,
lines up to 79 characters. Tools such as `ruff` or `flake8` check the style for you and `black` formats code
automatically. Never mix tabs and spaces: Python raises `TabError`.
""",
    "урок-12-итераторы.md": r"""# Урок 12. Итераторы и генераторы

## Перебор с номером и параллельный перебор

Функция `enumerate(items)` выдаёт пары из номера и элемента: `for i, name in enumerate(names, start=1):
print(i, name)` — так не нужен отдельный счётчик. Функция `zip(a, b)` идёт по двум спискам одновременно и
останавливается на коротком, а `dict(zip(keys, values))` быстро строит словарь.

## Генераторы списков

Генератор списка (list comprehension) строит список одной строкой: `squares = [x * x for x in range(10)]`.
Условие отбирает элементы: `[x for x in numbers if x % 2 == 0]` оставляет только чётные. Так же пишутся
генераторы множеств `{...}` и словарей `{k: v for k, v in pairs}`. Если выражение становится слишком длинным,
обычный цикл читается легче.

## Генераторные функции

Функция с `yield` вместо `return` — генератор: она отдаёт значения по одному и запоминает, где остановилась.
Генератор не хранит всю последовательность в памяти, поэтому подходит для больших файлов и бесконечных
последовательностей. Пройти по генератору можно только один раз; следующий элемент возвращает `next(gen)`, а
когда значения кончились, возникает `StopIteration`. Генераторное выражение пишут в круглых скобках:
`sum(x * x for x in range(10))`.
""",
    "lesson-13-testing.md": r"""# Lesson 13. Testing and debugging

## Tests with pytest

A test is a function whose name starts with `test_` and which checks a result with `assert`:
`def test_add(): assert add(2, 3) == 5`. Put tests in files named `test_*.py` and run `pytest` in the project
folder; it finds them, runs them and reports each failed assertion with the values it compared. `pytest -k add`
runs only the tests whose names contain "add", and `pytest -x` stops at the first failure.

## Debugging

When a program gives a wrong result, print the values you are unsure about, or better, call `breakpoint()` where
you want to stop: the debugger `pdb` opens there. In it, `n` runs the next line, `s` steps into a call, `p name`
prints a variable, `c` continues and `q` quits. Most editors, such as VS Code and PyCharm, offer the same with
breakpoints set by a click in the margin.
""",
    "урок-14-числа.md": r"""# Урок 14. Числа

## Целые и дробные числа

В Python есть целые числа `int` без ограничения размера и числа с плавающей точкой `float`. Деление `/` всегда
даёт `float`: `7 / 2` равно `3.5`. Целочисленное деление `//` отбрасывает дробную часть (`7 // 2` равно `3`), а
`%` возвращает остаток (`7 % 2` равно `1`), что удобно для проверки чётности. Возведение в степень записывают
как `2 ** 10`.

## Точность и округление

Дробные числа хранятся в двоичном виде приближённо, поэтому `0.1 + 0.2` даёт `0.30000000000000004`, а не `0.3`.
Сравнивать такие числа на равенство нельзя — используйте `math.isclose(a, b)`. Для денег подходит модуль
`decimal`. Функция `round(2.675, 2)` возвращает `2.67`, а `round(2.5)` — `2`: Python округляет половину к
ближайшему чётному («банковское» округление).

## Ввод чисел

Функция `input()` всегда возвращает строку, даже если пользователь ввёл цифры. Чтобы посчитать сумму, строку
переводят в число: `age = int(input("Возраст: "))`. Если ввести буквы, `int()` вызовет
`ValueError: invalid literal for int()`, поэтому ввод проверяют в `try`. Сложить строку с числом нельзя:
`"Возраст: " + 25` вызывает `TypeError`, сначала преобразуйте число функцией `str()`.
""",
    "course-rules.md": r"""# Course rules: deadlines and grading

## Deadlines

Each lesson's homework opens on Monday and is due the following Sunday at 23:59 Moscow time, unless the lesson
says otherwise. Submissions arrive through the course page, not by e-mail. A late submission loses 10% of its
points for each day of delay, and after three days it is no longer accepted. If you are ill or have an
emergency, write to the curator before the deadline to get an extension.

## Grading

Every homework is worth 10 points: 6 for passing the automatic tests, 2 for code style and 2 for the curator's
review. The final grade is the sum of your eight best homeworks (80 points) plus the final project (20 points).
To pass the course you need 60 points out of 100; 85 points or more gives a pass with distinction.

## Resubmission and appeals

You may resubmit a homework once within a week after it is graded; the better of the two scores counts. If you
disagree with a score, reply to the review within five days and explain why; a second curator will look at it.

## Academic honesty

Discussing ideas with other learners is welcome, copying their code is not. Two identical solutions both get
zero points, and a second case means leaving the course without a certificate. Code from the internet or from an
AI assistant must be marked with a comment saying where it came from.

## Certificate

Learners who pass the course receive a certificate as a PDF within two weeks after the final project is graded.
The certificate lists the course hours (72) and the final grade.
""",
    "правила-курса.md": r"""# Правила курса «Основы Python»

## Сроки и опоздания

Задания открываются по понедельникам, а сдать их нужно до воскресенья, 23:59 по Москве. Решение загружают на
странице задания; присланное на почту не проверяется. За каждые сутки опоздания вычитается 10% баллов, а через
трое суток работа не принимается. Если вы заболели или уезжаете, напишите куратору заранее — срок можно
перенести.

## Баллы и итоговая оценка

За каждое домашнее задание дают до 10 баллов: 6 — за автоматические тесты, 2 — за оформление кода и 2 — за
ревью куратора. Итоговый балл складывается из восьми лучших домашних работ и итогового проекта (до 20 баллов).
Зачёт ставится от 60 баллов из 100, с отличием — от 85.

## Пересдача

Проверенное задание можно один раз переделать в течение недели; засчитывается лучшая из двух попыток. Не
согласны с оценкой — ответьте на ревью в течение пяти дней, и работу посмотрит второй куратор.

## Консультации

Каждый четверг в 19:00 куратор проводит онлайн-консультацию в Zoom, ссылка приходит в чат курса за час до
начала. Записи консультаций выкладываются в раздел «Материалы» на следующий день. Вопросы между консультациями
задавайте в чате курса или ассистенту: куратор отвечает в течение рабочего дня.

## Списывание

Обсуждать задачи с однокурсниками можно, копировать чужой код — нельзя. За одинаковые решения оба участника
получают ноль баллов, повторное нарушение — отчисление без сертификата. Код, взятый из интернета или у
ИИ-ассистента, помечайте комментарием с источником.
""",
}

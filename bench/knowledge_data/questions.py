"""The labelled questions of bench/knowledge_search.py, as learners ask them: other word forms than the
lessons' (Russian cases and verb forms, English plurals and tenses), synonyms now and then, a few
short ones.

Each is (language, question, labels): a label is a phrase found in exactly one passage of the
lessons (bench/knowledge_data/lessons.py), the passage that answers; a question with several labels
is answered by any of them. Labels name text, not passage numbers, so they survive changes in how
the lessons are cut into passages.
"""

QUESTIONS = [
    # lesson-1-loops.md (the demo's)
    ("en", "How do I stop a while loop early?", ["Use `break` to leave a loop early"]),
    ("en", "What's the deadline for the first lesson's homework?", ["The homework for lesson 1 is due on Friday"]),
    ("en", "what does range(5) return", ["`range(5)` gives the numbers"]),
    ("en", "skip an iteration", ["`continue` to skip to the next round"]),
    # lesson-3-lists.md
    ("en", "Why does my list become None after I sort it?", ["loses your list"]),
    ("en", "How do I delete an item from a list?", ["deletes the first element equal to"]),
    ("en", "how to reverse a list", ["the whole list reversed"]),
    ("en", "What's the difference between lists and tuples?", ["A tuple is like a list that cannot be changed"]),
    ("en", "I copied a list and changing the copy changed the original too", ["does not copy: both names refer"]),
    ("en", "IndexError list index out of range", ["list index out of range"]),
    ("en", "sorting numbers in descending order", ["descending order and `key=`"]),
    # lesson-5-dictionaries.md
    ("en", "get a default value when the key isn't in the dictionary", ["returns the default you give"]),
    ("en", "iterate over keys and values of a dict", ["for name, age in ages.items()"]),
    ("en", "RuntimeError when I delete keys in a for loop", ["dictionary changed size during iteration"]),
    ("en", "Why can't I use a list as a dictionary key?", ["unhashable type"]),
    ("en", "How to get rid of duplicate values in a list?", ["drop duplicates from a list"]),
    ("en", "counting how many times each word occurs", ["builds a dictionary of counts"]),
    # lesson-7-exceptions.md
    ("en", "How do I handle errors so that my program doesn't crash?", ["Put the risky code in a `try` block"]),
    ("en", "What is finally for?", ["and `finally` runs always"]),
    ("en", "how to create my own exception class", ["Define your own exception"]),
    ("en", "where do I look first in a long traceback", ["Read a traceback from the bottom up"]),
    ("en", "catching two exception types in one except", ["Several types can share one handler"]),
    # lesson-9-classes.md
    ("en", "Why do methods need self?", ["`self` is the instance itself"]),
    ("en", "how to call the parent class constructor", ["call the parent's version with"]),
    ("en", "change how my object looks when printed", ["Define `__str__` to control"]),
    ("en", "what do data classes generate automatically", ["writes `__init__`, `__repr__` and `__eq__`"]),
    # lesson-11-modules.md
    ("en", "What does if __name__ == '__main__' mean?", ["runs only when the file is started as a program"]),
    ("en", "how to create a venv for my project", ["Make a virtual environment for each project"]),
    ("en", "import random doesn't work, my file is named random.py", ["shadows the standard module"]),
    ("en", "how many spaces for indentation", ["four spaces for indentation"]),
    ("en", "saving the installed packages' versions to a file", ["pip freeze > requirements.txt"]),
    # lesson-13-testing.md
    ("en", "How do I run only one test?", ["runs only the tests whose names contain"]),
    ("en", "how to pause the program and inspect variables", ["call `breakpoint()` where"]),
    ("en", "how should test files be named", ["Put tests in files named"]),
    # course-rules.md
    ("en", "What happens if I submit my homework late?", ["loses 10% of its points"]),
    ("en", "Can I get more time for an assignment if I'm sick?", ["to get an extension"]),
    ("en", "How many points do I need to pass?", ["To pass the course you need 60 points"]),
    ("en", "how is the final grade calculated", ["The final grade is the sum"]),
    ("en", "Can I redo my homework after it was graded?", ["resubmit a homework once"]),
    ("en", "Can I use code I found on the internet?", ["Code from the internet or from an"]),
    ("en", "When will I get my certificate?", ["receive a certificate as a PDF"]),
    # урок-2-функции.md (the demo's)
    ("ru", "Как задать значение аргумента по умолчанию?", ["Аргументы по умолчанию задаются так"]),
    ("ru", "Почему моя функция ничего не возвращает?", ["Функция без `return` возвращает `None`"]),
    ("ru", "До какого числа сдавать домашку по второму уроку?", ["ко второму уроку нужно сдать"]),
    ("ru", "как объявить функцию", ["Функция объявляется словом"]),
    # урок-4-строки.md
    ("ru", "Как разбить строку на слова?", ["разбивает строку на список слов"]),
    ("ru", "Как убрать пробелы в начале и конце строки?", ["убирает пробелы и переводы строк по"]),
    ("ru", "Почему нельзя поменять символ в строке?", ["Строки неизменяемы"]),
    ("ru", "как округлить цену до двух знаков в f-строке", ["с двумя знаками после запятой"]),
    ("ru", "как склеить список строк в одну строку", ["склеивает список строк через разделитель"]),
    # урок-6-файлы.md
    ("ru", "Как прочитать большой файл построчно?", ["перебирает строки по одной"]),
    ("ru", "Вместо русских букв в файле непонятные символы, что делать?", ["кракозябры"]),
    ("ru", "Чем режим записи w отличается от режима a при открытии файла?", ["дописывание в конец"]),
    (
        "ru",
        "Почему возникает FileNotFoundError, если файл лежит рядом со скриптом?",
        ["программа запущена из другой рабочей папки"],
    ),
    ("ru", "как сохранить словарь в json с русскими буквами", ["сохраняет кириллицу читаемой"]),
    ("ru", "Как создать папку?", ["создаёт папку вместе с родительскими"]),
    # урок-8-условия.md
    ("ru", "Как проверить, пустой ли список?", ["проверить, что список не пуст"]),
    ("ru", "Почему в условии if одно равно выдаёт ошибку SyntaxError?", ["одиночный знак `=` — это присваивание"]),
    ("ru", "как записать условие в одну строку", ["тернарным выражением"]),
    ("ru", "что писать вместо else if", ["Ветки проверяются сверху вниз"]),
    ("ru", "как объединить два условия", ["Условия объединяют словами"]),
    # урок-10-ещё-о-функциях.md
    ("ru", "Что означают *args и **kwargs?", ["собирает все лишние позиционные аргументы"]),
    (
        "ru",
        "Почему список по умолчанию в функции сохраняет значения между вызовами?",
        ["копит элементы между вызовами"],
    ),
    ("ru", "Как отсортировать людей по возрасту с помощью lambda?", ["сортирует студентов по оценке"]),
    ("ru", "Как поменять глобальную переменную внутри функции?", ["Чтобы изменить глобальную переменную"]),
    ("ru", "ошибка максимальная глубина рекурсии", ["обязательно должен быть базовый случай"]),
    # урок-12-итераторы.md
    ("ru", "Как получить номер элемента в цикле for?", ["выдаёт пары из номера и элемента"]),
    ("ru", "Как пройтись сразу по двум спискам?", ["идёт по двум спискам одновременно"]),
    ("ru", "Чем yield отличается от return?", ["Функция с `yield` вместо `return`"]),
    ("ru", "Как оставить в списке только чётные числа одной строкой?", ["оставляет только чётные"]),
    # урок-14-числа.md
    ("ru", "Почему 0.1 + 0.2 не равно 0.3?", ["хранятся в двоичном виде приближённо"]),
    ("ru", "Как получить остаток от деления?", ["возвращает остаток"]),
    ("ru", "Почему round(2.5) возвращает 2?", ["«банковское» округление"]),
    ("ru", "Как превратить введённую строку в число?", ["строку переводят в число"]),
    ("ru", "целочисленное деление", ["отбрасывает дробную часть"]),
    # правила-курса.md
    ("ru", "Что будет, если сдать домашку на день позже?", ["За каждые сутки опоздания"]),
    ("ru", "Сколько баллов нужно для зачёта?", ["Зачёт ставится от 60 баллов"]),
    ("ru", "Когда проходят консультации с куратором?", ["Каждый четверг в 19:00"]),
    ("ru", "Можно ли пересдать проверенную работу?", ["можно один раз переделать"]),
    ("ru", "Где посмотреть запись консультации?", ["Записи консультаций выкладываются"]),
    ("ru", "Можно ли брать код у ChatGPT?", ["помечайте комментарием с источником"]),
]

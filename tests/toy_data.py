"""A separable toy sentiment task the tiny BERT learns in a few dozen steps."""
import random

from bert_tf1.data.examples import InputExample

POSITIVE = ["good", "great", "excellent", "wonderful", "amazing", "brilliant", "beautiful"]
NEGATIVE = ["bad", "awful", "terrible", "boring", "worst", "waste", "hated"]
FILLER = ["the", "movie", "film", "was", "plot", "actors", "story", "and", "very", "really",
          "with", "a", "of", "script", "ending", "scene", "cast"]


def toy_examples(count, seed, prefix):
    """Filler sentences holding one sentiment word; label "1" for a positive word."""
    rng = random.Random(seed)
    examples = []
    for index in range(count):
        label = index % 2
        words = [rng.choice(FILLER) for _ in range(rng.randint(4, 10))]
        words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label else NEGATIVE))
        examples.append(InputExample("%s-%d" % (prefix, index), " ".join(words), None, str(label)))
    return examples

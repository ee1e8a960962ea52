/** How root fields are named from a model: `Order` → `order`, `orders`, `ordersAggregate`. */
export interface NamingOptions {
  /** The plural of a model's camelCase name; the default handles regular English plurals. */
  plural?: (singular: string) => string;
}

export interface ModelNames {
  single: string;
  list: string;
}

export function modelNames(model: string, options: NamingOptions = {}): ModelNames {
  const single = model.charAt(0).toLowerCase() + model.slice(1);
  let list = (options.plural ?? defaultPlural)(single);
  // a name whose plural is itself (`news`) still needs two distinct root fields
  if (list === single) list = `${single}List`;
  return { single, list };
}

export function defaultPlural(word: string): string {
  if (/[^aeiou]y$/i.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(word)) return `${word}es`;
  return `${word}s`;
}

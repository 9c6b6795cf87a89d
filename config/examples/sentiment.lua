-- sentiment.lua — a small lexicon sentiment scorer for product reviews,
-- written for eddy's sentiment example (config/examples/sentiment.yaml).
--
-- score(review) adds to the review:
--   score     = (positive words) - (negative words), where a word right after
--               a negator ("not", "never", "no", "hardly") counts the other way
--   sentiment = "positive" (score > 0), "negative" (score < 0) or "neutral"
--   words     = the number of words of review.text
-- Words are runs of ASCII letters, lowercased. A review without a string
-- `text` is returned unchanged with sentiment "unknown".

local POSITIVE = {}
for w in string.gmatch([[
  good great excellent fantastic amazing awesome love loved lovely perfect
  perfectly best happy recommend recommended quickly fast sturdy solid
  beautiful nice superb wonderful reliable works worth
]], "%a+") do POSITIVE[w] = true end

local NEGATIVE = {}
for w in string.gmatch([[
  bad poor awful terrible horrible disappointing disappointed broke broken
  damaged defective worst waste cheap flimsy slow useless refund returned
  worse faulty stopped
]], "%a+") do NEGATIVE[w] = true end

local NEGATORS = { ["not"] = true, never = true, no = true, hardly = true }

function score(review)
  local text = review.text
  if type(text) ~= "string" then
    review.sentiment = "unknown"
    return review
  end
  local s, n, negate = 0, 0, false
  for word in string.gmatch(string.lower(text), "%a+") do
    n = n + 1
    local v = POSITIVE[word] and 1 or (NEGATIVE[word] and -1 or 0)
    if negate then v = -v end
    s = s + v
    negate = NEGATORS[word] or false
  end
  review.score = s
  review.words = n
  review.sentiment = s > 0 and "positive" or (s < 0 and "negative" or "neutral")
  return review
end

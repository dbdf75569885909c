import Foundation
import Testing

@testable import StratesCore

@Suite struct DecimalTextTests {
    @Test(arguments: [
        ("2.50", 9, Int64(2_500_000_000)), ("0.075", 9, 75_000_000), ("3e-06", 15, 3_000_000_000),
        ("1.25E-7", 15, 125_000_000), ("0", 9, 0), ("15", 9, 15_000_000_000), ("0.0000000004", 9, 0),
        ("0.0000000005", 9, 1), ("+1", 0, 1),
    ])
    func scales(text: String, decimals: Int, expected: Int64) {
        #expect(DecimalText.scaled(text, decimals: decimals) == expected)
    }

    @Test(arguments: ["", "-1", "abc", "1.2.3", "1e", "e5", ".", "1e999999999999999999"])
    func rejects(text: String) {
        #expect(DecimalText.scaled(text, decimals: 9) == nil)
    }

    @Test func dollarsFormatting() {
        #expect(NanoUSD(123_000).dollars == "0.000123")
        #expect(NanoUSD(1_500_000_000).dollars == "1.500000")
        #expect(NanoUSD(-2_000).dollars == "-0.000002")
        #expect(NanoUSD(499).dollars == "0.000000")
    }
}

@Suite struct PricingTests {
    func price(_ input: String, _ output: String, cacheRead: String? = nil) -> ModelPrice {
        ModelPrice(
            provider: "anthropic", model: "m", effectiveFrom: Date(timeIntervalSince1970: 0),
            input: TokenRate(dollarsPerMillion: input)!, output: TokenRate(dollarsPerMillion: output)!,
            cacheRead: cacheRead.flatMap { TokenRate(dollarsPerMillion: $0) })
    }

    @Test func chargesEveryKindAtItsOwnRate() {
        // $3 in, $15 out: read 0.1× ($0.30), 5m write 1.25× ($3.75), 1h write 2× ($6).
        let usage = Usage(input: 1_000_000, output: 1_000_000, cacheRead: 1_000_000, cacheWrite5m: 1_000_000, cacheWrite1h: 1_000_000, reasoning: 500_000)
        let cost = price("3", "15").cost(of: usage)
        #expect(cost == NanoUSD(3_000_000_000 + 15_000_000_000 + 300_000_000 + 3_750_000_000 + 6_000_000_000))
    }

    @Test func cacheReadsAreNotBilledAtFullInputPrice() {
        let cost = price("2.50", "10", cacheRead: "1.25").cost(of: Usage(cacheRead: 1000))
        #expect(cost == NanoUSD(1_250_000))
    }

    @Test func roundsOnceAtTheEnd() {
        // $0.0001/M is 0.1 nano a token: 4 tokens round to 0, 5 to 1, 14 to 1; never per token.
        #expect(price("0.0001", "0").cost(of: Usage(input: 4)) == NanoUSD(0))
        #expect(price("0.0001", "0").cost(of: Usage(input: 5)) == NanoUSD(1))
        #expect(price("0.0001", "0").cost(of: Usage(input: 14)) == NanoUSD(1))
        #expect(price("0.075", "0").cost(of: Usage(input: 7)) == NanoUSD(525))
    }

    @Test func longContextTierAppliesAboveThreshold() {
        var p = price("3", "15")
        p.longContext = LongContextTier(threshold: 200_000, input: TokenRate(dollarsPerMillion: "6")!, output: TokenRate(dollarsPerMillion: "22.50")!)
        #expect(p.cost(of: Usage(input: 200_000)) == NanoUSD(600_000_000))
        #expect(p.cost(of: Usage(input: 200_001)) == NanoUSD(1_200_006_000))
    }

    @Test func discountsAndTiers() {
        var p = price("10", "0")
        p.batchBasisPoints = 5_000
        #expect(p.cost(of: Usage(input: 1_000_000), discountBasisPoints: 1_000) == NanoUSD(9_000_000_000))
        #expect(p.cost(of: Usage(input: 1_000_000), tier: .batch) == NanoUSD(5_000_000_000))
    }

    @Test func catalogFindsDatedAndPrefixedNames() {
        let catalog = PriceCatalog.builtIn()
        #expect(catalog.price(provider: "anthropic", model: "claude-sonnet-4-5-20250929")?.model == "claude-sonnet-4-5")
        #expect(catalog.price(provider: "openai", model: "gpt-4o-2024-08-06")?.model == "gpt-4o")
        #expect(catalog.price(provider: "together", model: "openai/gpt-oss-120b")?.model == "gpt-oss-120b")
        #expect(catalog.price(provider: "sim", model: "claude-haiku-4-5") != nil)
        #expect(catalog.cost(of: Usage(input: 10), provider: "x", model: "no-such-model") == .unknown)
    }

    @Test func laterEffectiveDateWinsFromThatDay() {
        var catalog = PriceCatalog()
        let old = price("1", "1")
        var new = price("2", "2")
        new.effectiveFrom = Date(timeIntervalSince1970: 1_000_000)
        catalog.add(old)
        catalog.add(new)
        #expect(catalog.price(provider: "anthropic", model: "m", at: Date(timeIntervalSince1970: 999_999))?.input == old.input)
        #expect(catalog.price(provider: "anthropic", model: "m", at: Date(timeIntervalSince1970: 1_000_000))?.input == new.input)
    }

    @Test func importsLiteLLMFormatExactly() throws {
        let json = """
            {"sample_spec": {"input_cost_per_token": 0},
             "claude-sonnet-4-5": {"litellm_provider": "anthropic", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
                "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06, "cache_creation_input_token_cost_above_1hr": 6e-06,
                "input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token_above_200k_tokens": 2.25e-05, "mode": "chat"},
             "gpt-4o-mini": {"litellm_provider": "openai", "input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07,
                "input_cost_per_token_batches": 7.5e-08},
             "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation"}}
            """
        let result = try LiteLLMPrices.parse(Data(json.utf8), effectiveFrom: Date(timeIntervalSince1970: 0))
        #expect(result.prices.count == 2)
        #expect(result.skipped.map(\.model) == ["dall-e-3"])
        let sonnet = try #require(result.prices.first { $0.model == "claude-sonnet-4-5" })
        #expect(sonnet.input.nanoPerMillion == 3_000_000_000)
        #expect(sonnet.output.nanoPerMillion == 15_000_000_000)
        #expect(sonnet.cacheRead?.nanoPerMillion == 300_000_000)
        #expect(sonnet.cacheWrite1h?.nanoPerMillion == 6_000_000_000)
        #expect(sonnet.longContext?.threshold == 200_000)
        #expect(sonnet.longContext?.output.nanoPerMillion == 22_500_000_000)
        let mini = try #require(result.prices.first { $0.model == "gpt-4o-mini" })
        #expect(mini.input.nanoPerMillion == 150_000_000)
        #expect(mini.batchBasisPoints == 5_000)
        #expect(throws: LiteLLMPrices.FormatError.self) { try LiteLLMPrices.parse(Data("[1]".utf8), effectiveFrom: Date()) }
    }
}

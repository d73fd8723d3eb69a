"""The built-in datasets' label sets, in the Hugging Face datasets' ClassLabel order.

Label ids follow the Hub's order, so a model trained on the local copy and one trained on
the Hub copy agree on what id 3 means.
"""

EMOTION_LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")
TREC_COARSE_LABELS = ("ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM")
TREC_FINE_LABELS = (
    *("ABBR:abb", "ABBR:exp"),
    *("ENTY:animal", "ENTY:body", "ENTY:color", "ENTY:cremat", "ENTY:currency"),
    *("ENTY:dismed", "ENTY:event", "ENTY:food", "ENTY:instru", "ENTY:lang", "ENTY:letter"),
    *("ENTY:other", "ENTY:plant", "ENTY:product", "ENTY:religion", "ENTY:sport"),
    *("ENTY:substance", "ENTY:symbol", "ENTY:techmeth", "ENTY:termeq", "ENTY:veh"),
    *("ENTY:word", "DESC:def", "DESC:desc", "DESC:manner", "DESC:reason"),
    *("HUM:gr", "HUM:ind", "HUM:title", "HUM:desc"),
    *("LOC:city", "LOC:country", "LOC:mount", "LOC:other", "LOC:state"),
    *("NUM:code", "NUM:count", "NUM:date", "NUM:dist", "NUM:money", "NUM:ord", "NUM:other"),
    *("NUM:period", "NUM:perc", "NUM:speed", "NUM:temp", "NUM:volsize", "NUM:weight"),
)
# Case-insensitive alphabetical, as the Hub's banking77 (categories.json has another order).
BANKING77_LABELS = (
    *("activate_my_card", "age_limit", "apple_pay_or_google_pay", "atm_support"),
    *("automatic_top_up", "balance_not_updated_after_bank_transfer"),
    *("balance_not_updated_after_cheque_or_cash_deposit", "beneficiary_not_allowed"),
    *("cancel_transfer", "card_about_to_expire", "card_acceptance", "card_arrival"),
    *("card_delivery_estimate", "card_linking", "card_not_working", "card_payment_fee_charged"),
    *("card_payment_not_recognised", "card_payment_wrong_exchange_rate", "card_swallowed"),
    *("cash_withdrawal_charge", "cash_withdrawal_not_recognised", "change_pin"),
    *("compromised_card", "contactless_not_working", "country_support", "declined_card_payment"),
    *("declined_cash_withdrawal", "declined_transfer", "direct_debit_payment_not_recognised"),
    *("disposable_card_limits", "edit_personal_details", "exchange_charge", "exchange_rate"),
    *("exchange_via_app", "extra_charge_on_statement", "failed_transfer"),
    *("fiat_currency_support", "get_disposable_virtual_card", "get_physical_card"),
    *("getting_spare_card", "getting_virtual_card", "lost_or_stolen_card"),
    *("lost_or_stolen_phone", "order_physical_card", "passcode_forgotten"),
    *("pending_card_payment", "pending_cash_withdrawal", "pending_top_up", "pending_transfer"),
    *("pin_blocked", "receiving_money", "Refund_not_showing_up", "request_refund"),
    *("reverted_card_payment?", "supported_cards_and_currencies", "terminate_account"),
    *("top_up_by_bank_transfer_charge", "top_up_by_card_charge", "top_up_by_cash_or_cheque"),
    *("top_up_failed", "top_up_limits", "top_up_reverted", "topping_up_by_card"),
    *("transaction_charged_twice", "transfer_fee_charged", "transfer_into_account"),
    *("transfer_not_received_by_recipient", "transfer_timing", "unable_to_verify_identity"),
    *("verify_my_identity", "verify_source_of_funds", "verify_top_up"),
    *("virtual_card_not_working", "visa_or_mastercard", "why_verify_identity"),
    *("wrong_amount_of_cash_received", "wrong_exchange_rate_for_cash_withdrawal"),
)
BINARY_SENTIMENT = ("negative", "positive")

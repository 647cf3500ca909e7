//! Spending: channel funding transactions and payments to addresses.

use bdk_wallet::error::CreateTxError;
use bdk_wallet::miniscript::psbt::PsbtExt;
use bdk_wallet::{TxBuilder, TxOrdering};
use bitcoin::{Address, Amount, FeeRate, ScriptBuf, Transaction, Txid};
use shandian_types::FeeratePerKw;

use super::Wallet;
use crate::{Broadcaster, Error};

/// A signed transaction paying a channel's funding script, with change back to the wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingTx {
    /// The fully signed transaction, ready to broadcast.
    pub tx: Transaction,
    /// The index of the funding output (BOLT 2's `funding_output_index`).
    pub output_index: u16,
    /// The fee it pays.
    pub fee: Amount,
}

impl FundingTx {
    /// The funding transaction's id (BOLT 2's `funding_txid`).
    pub fn txid(&self) -> Txid {
        self.tx.compute_txid()
    }
}

impl Wallet {
    /// Builds and signs a transaction paying `amount` to `script` at `feerate`, change to the
    /// wallet, and records it as unconfirmed so its inputs are not used again, whether or not
    /// it is ever broadcast (call [`Wallet::abandon_tx`] when the channel open is given up).
    pub fn fund_script(
        &mut self,
        script: ScriptBuf,
        amount: Amount,
        feerate: FeeratePerKw,
    ) -> Result<FundingTx, Error> {
        let tx = self.build_signed(feerate, |builder| {
            builder.add_recipient(script.clone(), amount);
            // The funding output's position must not depend on BDK's shuffle alone: keep a
            // deterministic order so the index is found, not guessed.
            builder.ordering(TxOrdering::Untouched);
        })?;
        let index = tx
            .output
            .iter()
            .position(|o| o.script_pubkey == script && o.value == amount)
            .ok_or(Error::FundingOutputMissing)?;
        let output_index = u16::try_from(index).map_err(|_| Error::FundingOutputMissing)?;
        let fee = self.inner.calculate_fee(&tx).unwrap_or(Amount::ZERO);
        self.apply_unconfirmed(tx.clone())?;
        Ok(FundingTx { tx, output_index, fee })
    }

    /// Builds and signs a payment of `amount` to `address` at `feerate`, change to the wallet,
    /// and records it as unconfirmed. The caller broadcasts it (or see
    /// [`Wallet::send_to_address`]).
    pub fn build_payment(
        &mut self,
        address: &Address,
        amount: Amount,
        feerate: FeeratePerKw,
    ) -> Result<Transaction, Error> {
        if !address.as_unchecked().is_valid_for_network(self.network()) {
            return Err(Error::WrongNetwork);
        }
        let script = address.script_pubkey();
        let tx = self.build_signed(feerate, |builder| {
            builder.add_recipient(script.clone(), amount);
        })?;
        self.apply_unconfirmed(tx.clone())?;
        Ok(tx)
    }

    /// Pays `amount` to `address` and broadcasts it. If the broadcast is refused, the
    /// transaction is abandoned so its inputs are spendable again.
    pub async fn send_to_address(
        &mut self,
        address: &Address,
        amount: Amount,
        feerate: FeeratePerKw,
        broadcaster: &(impl Broadcaster + ?Sized),
    ) -> Result<Txid, Error> {
        let tx = self.build_payment(address, amount, feerate)?;
        let txid = tx.compute_txid();
        match broadcaster.broadcast(&tx).await {
            Ok(_) => Ok(txid),
            Err(e) if e.is_already_known() => Ok(txid),
            Err(e) if e.is_transient() => Err(e), // it may have reached the mempool: keep it
            Err(e) => {
                self.abandon_tx(txid)?;
                Err(e)
            }
        }
    }

    fn build_signed(
        &mut self,
        feerate: FeeratePerKw,
        configure: impl FnOnce(
            &mut TxBuilder<'_, bdk_wallet::coin_selection::DefaultCoinSelectionAlgorithm>,
        ),
    ) -> Result<Transaction, Error> {
        let rate = FeeRate::from_sat_per_kwu(u64::from(feerate.max(FeeratePerKw::MIN_RELAY).0));
        let mut builder = self.inner.build_tx();
        builder.fee_rate(rate);
        configure(&mut builder);
        let mut psbt = builder.finish().map_err(|e| match e {
            CreateTxError::CoinSelection(f) => Error::InsufficientFunds {
                needed: f.needed.to_sat(),
                available: f.available.to_sat(),
            },
            other => Error::TxBuild(Box::new(other)),
        })?;
        // Sign with the master key (BDK records each input's BIP 32 origin in the PSBT), then
        // let miniscript build the witnesses.
        psbt.sign(&self.master, self.inner.secp_ctx()).map_err(|_| Error::Unsigned)?;
        psbt.finalize_mut(self.inner.secp_ctx()).map_err(|_| Error::Unsigned)?;
        Ok(psbt.extract_tx()?)
    }
}
